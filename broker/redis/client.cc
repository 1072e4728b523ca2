#include "broker/redis/client.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/redis/key_slot.h"

namespace faultline::broker::redis {

Client::Client(ClientOptions options)
    : options_(std::move(options)), map_(std::make_shared<const SlotMap>()) {}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(ClientOptions options,
                                                        absl::Time deadline) {
  if (options.seeds.empty()) {
    return absl::InvalidArgumentError("redis: no seed nodes given");
  }
  std::unique_ptr<Client> client(new Client(std::move(options)));
  absl::Status status =
      client->Refresh(client->ForThisThread(), deadline, /*force=*/true);
  if (!status.ok()) return status;
  return client;
}

std::string Client::Describe() const {
  std::shared_ptr<const SlotMap> map = slot_map();
  std::vector<NodeAddress> masters = map->Masters();
  if (map->standalone()) return absl::StrCat("redis ", masters[0].ToString());
  return absl::StrCat(
      "redis cluster ",
      absl::StrJoin(options_.seeds, ",",
                    [](std::string* out, const NodeAddress& node) {
                      out->append(node.ToString());
                    }),
      " (", masters.size(), " masters)");
}

std::shared_ptr<const SlotMap> Client::slot_map() const {
  absl::MutexLock lock(&mu_);
  return map_;
}

uint64_t Client::map_changes() const {
  absl::MutexLock lock(&mu_);
  return map_changes_;
}

Client::ThreadConnections& Client::ForThisThread() {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<ThreadConnections>& mine =
      threads_[std::this_thread::get_id()];
  if (mine == nullptr) mine = std::make_unique<ThreadConnections>();
  return *mine;
}

bool Client::IsDown(const NodeAddress& node) const {
  absl::MutexLock lock(&mu_);
  auto it = down_.find(node);
  return it != down_.end() && it->second.until > absl::Now();
}

absl::StatusOr<Connection*> Client::ConnectionTo(ThreadConnections& connections,
                                                 const NodeAddress& node,
                                                 absl::Time deadline) {
  std::unique_ptr<Connection>& slot = connections.by_node[node];
  if (slot != nullptr && !slot->broken()) return slot.get();
  slot.reset();
  {
    absl::MutexLock lock(&mu_);
    auto it = down_.find(node);
    if (it != down_.end() && it->second.until > absl::Now()) {
      return it->second.why;
    }
  }
  absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(
      node, std::min(deadline, absl::Now() + options_.connect_timeout));
  absl::MutexLock lock(&mu_);
  if (!opened.ok()) {
    down_[node] = Down{absl::Now() + options_.down_memo, opened.status()};
    return opened.status();
  }
  down_.erase(node);
  slot = *std::move(opened);
  return slot.get();
}

void Client::InstallMap(SlotMap map) {
  auto installed = std::make_shared<const SlotMap>(std::move(map));
  absl::MutexLock lock(&mu_);
  map_ = std::move(installed);
  ++map_changes_;
}

void Client::NoteMoved(int slot, const NodeAddress& node) {
  absl::MutexLock lock(&mu_);
  const NodeAddress* now = map_->MasterOf(slot);
  if (now != nullptr && *now == node) return;
  map_ = std::make_shared<const SlotMap>(map_->WithSlotOn(slot, node));
  ++map_changes_;
}

absl::Status Client::RefreshSlotMap(absl::Time deadline) {
  return Refresh(ForThisThread(), deadline, /*force=*/true);
}

absl::Status Client::Refresh(ThreadConnections& connections,
                             absl::Time deadline, bool force) {
  std::vector<NodeAddress> candidates;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (!force && now - last_refresh_ < options_.min_refresh_interval) {
      return absl::OkStatus();
    }
    last_refresh_ = now;
    // Masters first: they know about a failover as soon as anyone does.
    candidates = map_->Masters();
    for (const NodeAddress& node : map_->nodes()) candidates.push_back(node);
  }
  for (const NodeAddress& seed : options_.seeds) candidates.push_back(seed);
  absl::Status last = absl::UnavailableError("redis: no node to ask");
  std::vector<NodeAddress> asked;
  for (const NodeAddress& node : candidates) {
    if (std::find(asked.begin(), asked.end(), node) != asked.end()) continue;
    asked.push_back(node);
    if (absl::Now() >= deadline) break;
    absl::StatusOr<Connection*> connection =
        ConnectionTo(connections, node, deadline);
    if (!connection.ok()) {
      last = connection.status();
      continue;
    }
    absl::StatusOr<Reply> reply =
        Call(**connection, {"CLUSTER", "SLOTS"}, deadline);
    if (!reply.ok()) {
      last = reply.status();
      continue;
    }
    if (reply->is_error() &&
        absl::StrContains(reply->str, "cluster support disabled")) {
      InstallMap(SlotMap::Standalone(node));
      return absl::OkStatus();
    }
    absl::StatusOr<SlotMap> map = SlotMap::FromClusterSlots(*reply, node);
    if (!map.ok()) {
      last = map.status();
      continue;
    }
    if (map->covered_slots() == 0) {
      last = absl::UnavailableError(
          absl::StrCat("redis ", node.ToString(), " serves no slots yet"));
      continue;
    }
    InstallMap(*std::move(map));
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("redis: no node gave a slot map; last: ", last.message()));
}

Result Client::Execute(const Command& command, const CallOptions& options) {
  return std::move(ExecuteBatch({&command, 1}, options)[0]);
}

Result Client::ExecuteOn(const NodeAddress& node, std::vector<std::string> args,
                         const CallOptions& options) {
  NodeCommand command{node, std::move(args)};
  return std::move(ExecuteOn({&command, 1}, options)[0]);
}

std::vector<Result> Client::ExecuteOn(absl::Span<const NodeCommand> commands,
                                      const CallOptions& options) {
  ThreadConnections& connections = ForThisThread();
  std::vector<Result> results(commands.size());
  std::map<NodeAddress, std::vector<size_t>> by_node;
  for (size_t i = 0; i < commands.size(); ++i) {
    results[i].node = commands[i].node;
    by_node[commands[i].node].push_back(i);
  }
  std::vector<Connection*> sent;
  std::vector<const std::vector<size_t>*> groups;
  for (const auto& [node, indexes] : by_node) {
    absl::StatusOr<Connection*> connection =
        ConnectionTo(connections, node, options.deadline);
    if (!connection.ok()) {
      for (size_t i : indexes) results[i].reply = connection.status();
      continue;
    }
    for (size_t i : indexes) (*connection)->Append(commands[i].args);
    sent.push_back(*connection);
    groups.push_back(&indexes);
  }
  std::vector<ExchangeResult> exchanged = Exchange(sent, options.deadline);
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::vector<size_t>& indexes = *groups[g];
    for (size_t k = 0; k < indexes.size(); ++k) {
      if (k < exchanged[g].replies.size()) {
        results[indexes[k]].reply = std::move(exchanged[g].replies[k]);
      } else {
        results[indexes[k]].reply = exchanged[g].status;
      }
    }
  }
  return results;
}

std::vector<Result> Client::MGet(absl::Span<const std::string> keys,
                                 const CallOptions& options) {
  std::map<int, std::vector<size_t>> by_slot;
  for (size_t i = 0; i < keys.size(); ++i)
    by_slot[KeySlot(keys[i])].push_back(i);
  std::vector<Command> commands;
  std::vector<const std::vector<size_t>*> members;
  for (const auto& [slot, indexes] : by_slot) {
    Command mget;
    mget.args.push_back("MGET");
    for (size_t i : indexes) mget.args.push_back(keys[i]);
    mget.tryagain_is_final = true;
    commands.push_back(std::move(mget));
    members.push_back(&indexes);
  }
  std::vector<Result> grouped = ExecuteBatch(commands, options);
  std::vector<Result> results(keys.size());
  std::vector<Command> singles;
  std::vector<size_t> single_index;
  for (size_t g = 0; g < grouped.size(); ++g) {
    const std::vector<size_t>& indexes = *members[g];
    const Result& group = grouped[g];
    if (group.reply.ok() && group.reply->IsErrorCode("TRYAGAIN")) {
      for (size_t i : indexes) {
        singles.push_back(Command{{"GET", keys[i]}});
        single_index.push_back(i);
      }
      continue;
    }
    for (size_t k = 0; k < indexes.size(); ++k) {
      Result& one = results[indexes[k]];
      one.node = group.node;
      if (!group.reply.ok() || group.reply->type != Reply::Type::kArray ||
          group.reply->elements.size() != indexes.size()) {
        one.reply = group.reply;
        continue;
      }
      one.reply = group.reply->elements[k];
    }
  }
  std::vector<Result> single_results = ExecuteBatch(singles, options);
  for (size_t s = 0; s < singles.size(); ++s) {
    results[single_index[s]] = std::move(single_results[s]);
  }
  return results;
}

}  // namespace faultline::broker::redis
