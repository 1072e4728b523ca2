// The page-store admin calls (PutPages' writes, ListStores, DeleteStore) and
// the threads they run on. A backend that may block (Redis: round trips,
// a failover waited out) is called on store threads of its own, never on
// gRPC's, so a slow store holds up no fault stream; the in-memory backend
// is called inline. Every call has a deadline: the call's own, at most
// kMaxStoreCallTime from when it started.
//
// Threading: Run() from any thread; Stop() from the thread that shuts the
// broker down, before the gRPC server stops (it finishes the calls).
#ifndef FAULTLINE_BROKER_ADMIN_STORE_CALLS_H_
#define FAULTLINE_BROKER_ADMIN_STORE_CALLS_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/sources/store_backend.h"
#include "proto/faultline/v1/broker.grpc.pb.h"

namespace faultline::broker {

// The longest one store call (a PutPages message, a list, a delete) may take:
// enough to wait out a Redis failover (node timeout + about 3 s).
inline constexpr absl::Duration kMaxStoreCallTime = absl::Seconds(30);

// The deadline of a store call made for `context`, starting now.
absl::Time StoreCallDeadline(const grpc::CallbackServerContext& context);

class StoreCalls {
 public:
  // Store threads are started only when `backend` may block.
  StoreCalls(StoreBackend& backend, int threads = 2);
  ~StoreCalls();

  StoreCalls(const StoreCalls&) = delete;
  StoreCalls& operator=(const StoreCalls&) = delete;

  StoreBackend& backend() { return backend_; }

  // Runs `work(stopped)` once: inline when the backend never blocks, else on
  // a store thread. Work queued when Stop() runs gets `stopped` true at once.
  void Run(std::function<void(bool stopped)> work) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits for the calls running now (each bounded by its deadline), stops
  // queued ones; later Run()s get `stopped` at once. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // ListStores and DeleteStore, once the caller was authorized.
  grpc::ServerUnaryReactor* ListStores(grpc::CallbackServerContext* context,
                                       v1::ListStoresResponse* response);
  grpc::ServerUnaryReactor* DeleteStore(grpc::CallbackServerContext* context,
                                        const v1::DeleteStoreRequest* request,
                                        v1::DeleteStoreResponse* response);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  bool HasWorkOrStopped() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  StoreBackend& backend_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void(bool)>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_ADMIN_STORE_CALLS_H_
