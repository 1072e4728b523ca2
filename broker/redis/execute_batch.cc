// Client::ExecuteBatch: the routing loop. Each round groups what is left by
// node, sends every group at once (one Exchange), and sorts the replies with
// ClassifyReply into done, redirected and retry-later.
#include <map>

#include "absl/strings/str_cat.h"
#include "broker/redis/client.h"
#include "broker/redis/key_slot.h"
#include "broker/redis/redirect.h"

namespace faultline::broker::redis {

struct Client::Task {
  size_t index = 0;
  int slot = -1;  // -1: keyless
  NodeAddress target;
  bool routed = false;
  bool asking = false;
  int attempts = 0;
  absl::Status last;  // why the last attempt did not finish it
};

namespace {

// Where a task goes next by the map (ASK targets are kept as they are).
void Route(const SlotMap& map, bool asking, int slot, NodeAddress* target,
           bool* routed) {
  if (asking) return;
  const NodeAddress* master = nullptr;
  if (slot >= 0) {
    master = map.MasterOf(slot);
  } else {
    std::vector<NodeAddress> masters = map.Masters();
    if (!masters.empty()) {
      *target = masters[0];
      *routed = true;
      return;
    }
  }
  *routed = master != nullptr;
  if (master != nullptr) *target = *master;
}

}  // namespace

std::vector<Result> Client::ExecuteBatch(absl::Span<const Command> commands,
                                         const CallOptions& options) {
  std::vector<Result> results(commands.size());
  if (commands.empty()) return results;
  ThreadConnections& connections = ForThisThread();
  std::shared_ptr<const SlotMap> map = slot_map();
  std::vector<Task> todo;
  for (size_t i = 0; i < commands.size(); ++i) {
    Task task;
    task.index = i;
    const int key = commands[i].key_index;
    const std::vector<std::string>& routing = commands[i].routing_args();
    if (key >= 0 && static_cast<size_t>(key) < routing.size()) {
      task.slot = KeySlot(routing[key]);
    }
    todo.push_back(std::move(task));
  }
  absl::Duration backoff = options_.first_backoff;
  while (!todo.empty()) {
    for (Task& task : todo) {
      Route(*map, task.asking, task.slot, &task.target, &task.routed);
    }
    std::vector<Task> again;
    bool refresh = false;
    bool wait = false;
    // A task ends when it is done, or with its last reason when it is out
    // of attempts, or its node is down and the caller will not wait (when it
    // will, only the deadline bounds the wait for a failover).
    auto retry = [&](Task task, absl::Status why, bool node_down) {
      task.last = std::move(why);
      if (!(node_down && options.ride_out_failover)) ++task.attempts;
      const bool give_up = task.attempts >= options_.max_attempts ||
                           (node_down && !options.ride_out_failover);
      if (give_up) {
        results[task.index].node = task.target;
        results[task.index].reply = task.last;
        return;
      }
      again.push_back(std::move(task));
    };

    std::map<NodeAddress, std::vector<Task>> by_node;
    for (Task& task : todo) {
      if (!task.routed) {
        refresh = wait = true;
        absl::Status why = absl::UnavailableError(
            absl::StrCat("redis: no master serves slot ", task.slot));
        retry(std::move(task), std::move(why), /*node_down=*/true);
        continue;
      }
      by_node[task.target].push_back(std::move(task));
    }
    std::vector<Connection*> sent;
    std::vector<std::vector<Task>> groups;
    for (auto& [node, tasks] : by_node) {
      absl::StatusOr<Connection*> connection =
          ConnectionTo(connections, node, options.deadline);
      if (!connection.ok()) {
        refresh = wait = true;
        for (Task& task : tasks) {
          task.asking = false;
          retry(std::move(task), connection.status(), /*node_down=*/true);
        }
        continue;
      }
      for (const Task& task : tasks) {
        // ASKING holds for a whole MULTI ... EXEC.
        if (task.asking) (*connection)->Append({std::string("ASKING")});
        const Command& command = commands[task.index];
        if (command.transaction.empty()) {
          (*connection)->Append(command.args);
          continue;
        }
        (*connection)->Append({std::string("MULTI")});
        for (const auto& step : command.transaction) {
          (*connection)->Append(step);
        }
        (*connection)->Append({std::string("EXEC")});
      }
      sent.push_back(*connection);
      groups.push_back(std::move(tasks));
    }
    std::vector<ExchangeResult> exchanged = Exchange(sent, options.deadline);

    for (size_t g = 0; g < groups.size(); ++g) {
      ExchangeResult& exchange = exchanged[g];
      size_t next_reply = 0;
      for (Task& task : groups[g]) {
        if (task.asking) ++next_reply;  // ASKING's +OK
        const Command& command = commands[task.index];
        const size_t replies =
            command.transaction.empty() ? 1 : command.transaction.size() + 2;
        if (next_reply + replies > exchange.replies.size()) {
          next_reply += replies;
          // Sent, and the connection failed before the reply: send again
          // only what is safe to repeat.
          refresh = true;
          task.asking = false;
          if (!command.idempotent) {
            results[task.index].node = task.target;
            results[task.index].reply = absl::UnavailableError(absl::StrCat(
                exchange.status.message(), " (outcome unknown, not resent)"));
            continue;
          }
          retry(std::move(task), exchange.status, /*node_down=*/false);
          continue;
        }
        Reply reply =
            replies == 1
                ? std::move(exchange.replies[next_reply])
                : CollapseTransaction(std::vector<Reply>(
                      std::make_move_iterator(exchange.replies.begin() +
                                              next_reply),
                      std::make_move_iterator(exchange.replies.begin() +
                                              next_reply + replies)));
        next_reply += replies;
        absl::Status why = absl::UnavailableError(
            absl::StrCat("redis ", task.target.ToString(), ": ", reply.str));
        const RedirectAction action = ClassifyReply(reply, task.target);
        const bool final_tryagain =
            command.tryagain_is_final && reply.IsErrorCode("TRYAGAIN");
        switch (final_tryagain ? RedirectAction::Kind::kDone : action.kind) {
          case RedirectAction::Kind::kDone:
            results[task.index].node = task.target;
            results[task.index].reply = std::move(reply);
            break;
          case RedirectAction::Kind::kMoved:
            NoteMoved(action.slot, action.target);
            task.asking = false;
            retry(std::move(task), std::move(why), false);
            break;
          case RedirectAction::Kind::kAsk:
            task.asking = true;
            task.target = action.target;
            retry(std::move(task), std::move(why), false);
            break;
          case RedirectAction::Kind::kRetryLater:
            wait = true;
            refresh = refresh || action.refresh_map;
            task.asking = false;
            retry(std::move(task), std::move(why), false);
            break;
        }
      }
    }
    todo = std::move(again);
    if (refresh) {
      // Also when every task has ended: the next call needs the new map.
      // A failed refresh leaves the old map; the next round says why.
      Refresh(connections, options.deadline, /*force=*/false).IgnoreError();
    }
    if (todo.empty()) break;
    if (absl::Now() >= options.deadline) {
      for (Task& task : todo) {
        results[task.index].node = task.target;
        results[task.index].reply = absl::DeadlineExceededError(absl::StrCat(
            "redis: deadline passed; last: ", task.last.message()));
      }
      break;
    }
    if (wait) {
      absl::SleepFor(std::min(backoff, options.deadline - absl::Now()));
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    map = slot_map();
  }
  return results;
}

}  // namespace faultline::broker::redis
