// The WatchFaults stream (server-streaming callback reactor): writes the
// events its WatchQueue collects, one at a time. A slow client only fills
// its own bounded queue; the fault path never waits for it.
//
// Threading: the queue's wake callback runs on fault-path threads and only
// starts a write when none is in flight; Close() may come from any thread.
#ifndef FAULTLINE_BROKER_OBSERVE_WATCH_STREAM_H_
#define FAULTLINE_BROKER_OBSERVE_WATCH_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "broker/observe/watch_hub.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

// Lets the broker end a watch at shutdown.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
  virtual void Close() = 0;
};

// Creates the reactor; `on_done` runs when the call is over (to forget the
// handle). The reactor deletes itself.
grpc::ServerWriteReactor<v1::FaultEvent>* NewWatchStream(
    WatchHub& hub, const std::string& session_filter,
    std::function<void(std::shared_ptr<WatchHandle>)> on_start,
    std::function<void(const WatchHandle*)> on_done);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_OBSERVE_WATCH_STREAM_H_
