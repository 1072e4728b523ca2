#include "broker/redis/redirect.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace faultline::broker::redis {
namespace {

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 :6381"; kDone if malformed, so the
// caller reports the error as the server sent it.
RedirectAction Redirect(RedirectAction::Kind kind, const Reply& reply,
                        const NodeAddress& from) {
  RedirectAction done;
  std::vector<absl::string_view> words = absl::StrSplit(reply.str, ' ');
  if (words.size() != 3) return done;
  int slot = 0;
  if (!absl::SimpleAtoi(words[1], &slot) || slot < 0 || slot >= kSlotCount) {
    return done;
  }
  std::string endpoint(words[2]);
  if (!endpoint.empty() && endpoint.front() == ':') {
    endpoint = from.host + endpoint;
  }
  absl::StatusOr<NodeAddress> target = ParseNodeAddress(endpoint);
  if (!target.ok()) return done;
  RedirectAction action;
  action.kind = kind;
  action.slot = slot;
  action.target = *std::move(target);
  return action;
}

}  // namespace

RedirectAction ClassifyReply(const Reply& reply, const NodeAddress& from) {
  RedirectAction action;
  if (!reply.is_error()) return action;
  if (reply.IsErrorCode("MOVED")) {
    return Redirect(RedirectAction::Kind::kMoved, reply, from);
  }
  if (reply.IsErrorCode("ASK")) {
    return Redirect(RedirectAction::Kind::kAsk, reply, from);
  }
  const bool cluster_down = reply.IsErrorCode("CLUSTERDOWN");
  if (cluster_down || reply.IsErrorCode("TRYAGAIN") ||
      reply.IsErrorCode("LOADING") || reply.IsErrorCode("MASTERDOWN")) {
    action.kind = RedirectAction::Kind::kRetryLater;
    action.reason = reply.str;
    action.refresh_map = cluster_down;
  }
  return action;
}

Reply CollapseTransaction(std::vector<Reply> replies) {
  if (replies.empty()) return Reply::Error("ERR empty transaction reply");
  for (size_t i = 0; i + 1 < replies.size(); ++i) {
    if (replies[i].is_error()) return std::move(replies[i]);
  }
  return std::move(replies.back());
}

}  // namespace faultline::broker::redis
