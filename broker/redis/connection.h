// One TCP connection to one Redis node. The socket is non-blocking and every
// wait is a poll with a deadline; hiredis only parses the replies. Commands
// are queued with Append() and sent by Exchange(), which drives any number of
// connections at once, so a batch for three masters costs one round trip.
//
// Not thread-safe: a connection is used by one thread at a time.
#ifndef FAULTLINE_BROKER_REDIS_CONNECTION_H_
#define FAULTLINE_BROKER_REDIS_CONNECTION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "broker/redis/reply.h"
#include "broker/redis/slot_map.h"
#include "proto/base/unique_fd.h"

struct redisReader;

namespace faultline::broker::redis {

class Connection {
 public:
  // Connects to `node` (a numeric address) by `deadline`: UNAVAILABLE with
  // the errno's words, or DEADLINE_EXCEEDED.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(
      const NodeAddress& node, absl::Time deadline);
  ~Connection();

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const NodeAddress& node() const { return node_; }

  // Queues one command; its reply is one of the next Exchange's.
  void Append(absl::Span<const std::string> args);
  size_t queued() const { return queued_; }

  // After an I/O or protocol error or a missed deadline the replies can no
  // longer be matched to commands: the owner drops a broken connection.
  bool broken() const { return broken_; }

 private:
  friend struct ExchangeDriver;

  Connection(NodeAddress node, UniqueFd fd);
  // Sends what it can without waiting; false (and broken) on an error.
  bool WriteSome();
  // Reads what is there and parses complete replies; false on an error.
  bool ReadSome();
  void Fail(absl::Status status);

  const NodeAddress node_;
  UniqueFd fd_;
  redisReader* reader_ = nullptr;
  std::string out_;
  size_t out_sent_ = 0;
  size_t queued_ = 0;
  std::vector<Reply> replies_;
  absl::Status error_;
  bool broken_ = false;
};

struct ExchangeResult {
  absl::Status status;         // OK when every queued reply came
  std::vector<Reply> replies;  // in the order the commands were appended
};

// Sends every connection's queued commands and reads as many replies as each
// queued, all at once, until each is answered, broken or `deadline` passes.
// Results are in the order of `connections`; each one's queue is empty after.
std::vector<ExchangeResult> Exchange(absl::Span<Connection* const> connections,
                                     absl::Time deadline);

// One command on one connection.
absl::StatusOr<Reply> Call(Connection& connection,
                           absl::Span<const std::string> args,
                           absl::Time deadline);

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_CONNECTION_H_
