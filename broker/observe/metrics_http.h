// A minimal HTTP/1.0 responder for Prometheus scrapes: every GET gets the
// current metrics text. One connection at a time on its own thread, with a
// read deadline, so a stuck scraper cannot hold it.
//
// Threading: Start/Stop from the controlling thread; `render` runs on the
// responder's thread.
#ifndef FAULTLINE_BROKER_OBSERVE_METRICS_HTTP_H_
#define FAULTLINE_BROKER_OBSERVE_METRICS_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "broker/net/accept_loop.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker {

class MetricsHttpServer {
 public:
  // `address` is "HOST:PORT" (IPv4 dotted or "localhost"); port 0 picks one.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, std::function<std::string()> render);
  ~MetricsHttpServer();

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // "HOST:PORT" with the bound port.
  const std::string& address() const { return address_; }
  void Stop();

 private:
  MetricsHttpServer(std::string address, std::function<std::string()> render)
      : address_(std::move(address)), render_(std::move(render)) {}
  void Respond(int connection);

  const std::string address_;
  const std::function<std::string()> render_;
  // Started last, stopped first: it calls Respond.
  std::unique_ptr<AcceptLoop> loop_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_OBSERVE_METRICS_HTTP_H_
