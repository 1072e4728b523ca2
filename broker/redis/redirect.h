// What a cluster client does with one reply: the redirect handler as a pure
// function (reply in, action out), so every case is unit-tested with made-up
// replies.
#ifndef FAULTLINE_BROKER_REDIS_REDIRECT_H_
#define FAULTLINE_BROKER_REDIS_REDIRECT_H_

#include <string>

#include "broker/redis/reply.h"
#include "broker/redis/slot_map.h"

namespace faultline::broker::redis {

struct RedirectAction {
  enum class Kind {
    kDone,        // the command's answer (an application error included)
    kMoved,       // the slot lives on `target` now: update the map, resend
    kAsk,         // the key is migrating: send ASKING then the command to
                  // `target`, once, without touching the map
    kRetryLater,  // TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN: back off
  };
  Kind kind = Kind::kDone;
  int slot = -1;       // kMoved and kAsk
  NodeAddress target;  // kMoved and kAsk
  // kRetryLater: the server's words. True for CLUSTERDOWN, after which the
  // slot map is worth asking for again.
  std::string reason;
  bool refresh_map = false;
};

// `from` is the node that sent `reply`; a redirect that names no host
// ("MOVED 42 :7001") means that node's host.
RedirectAction ClassifyReply(const Reply& reply, const NodeAddress& from);

// The one reply that stands for a transaction's replies (MULTI's, one per
// step, EXEC's): the first error among MULTI's and the steps' (a step the
// node refused to queue: MOVED, ASK, TRYAGAIN, ...; EXEC then only says
// EXECABORT), else EXEC's reply.
Reply CollapseTransaction(std::vector<Reply> replies);

}  // namespace faultline::broker::redis

#endif  // FAULTLINE_BROKER_REDIS_REDIRECT_H_
