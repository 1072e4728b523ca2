// RedisStore's write path: busy marks, limits, the atomic window writes
// fanned out to every master at once, page counts, and WAIT.
#include <set>

#include "absl/strings/str_cat.h"
#include "broker/redis/redis_store.h"
#include "proto/base/status_macros.h"

namespace faultline::broker::redis {
namespace {

// The first failure among `results` (each must end with an integer), or
// OK; `failed` gets their indexes.
absl::Status FirstFailure(const std::vector<Result>& results,
                          std::vector<size_t>* failed) {
  absl::Status first;
  for (size_t i = 0; i < results.size(); ++i) {
    absl::Status status = LastInteger(results[i]).status();
    if (status.ok()) continue;
    if (failed != nullptr) failed->push_back(i);
    if (first.ok()) first = status;
  }
  return first;
}

CallOptions WriteCall(absl::Time deadline) {
  CallOptions options{deadline};
  options.ride_out_failover = true;  // a put may wait out a failover
  return options;
}

}  // namespace

absl::StatusOr<RedisStore::PendingWrite> RedisStore::BeginWrite(
    absl::string_view store, uint64_t offset, uint64_t size,
    absl::Duration lease, absl::Time deadline) {
  RETURN_IF_ERROR(ValidateWrite(store, offset, size, options_.limits));
  PendingWrite write;
  write.store = std::string(store);
  write.first_page = offset / kPageBytes;
  write.spans = SplitIntoWindows(write.first_page, size / kPageBytes);
  std::vector<Command> commands;
  for (const WindowSpan& span : write.spans) {
    commands.push_back(
        commands_.Begin(WindowKey(store, span.window), span.mask(), lease));
  }
  std::vector<Result> results =
      commands_.Run(*client_, std::move(commands), WriteCall(deadline));
  absl::Status failure = FirstFailure(results, nullptr);
  for (const Result& result : results) {
    absl::StatusOr<long long> present = LastInteger(result);
    write.present_before.push_back(
        present.ok() ? static_cast<uint32_t>(*present) : 0);
  }
  if (!failure.ok()) {
    AbandonWrite(write, deadline);
    return failure;
  }
  return write;
}

absl::Status RedisStore::Write(absl::string_view store, uint64_t offset,
                               absl::string_view data, absl::Time deadline) {
  ASSIGN_OR_RETURN(
      PendingWrite write,
      BeginWrite(store, offset, data.size(), options_.busy_lease, deadline));
  const StoreLimits& limits = options_.limits;
  if (limits.store_bytes != 0 || limits.total_bytes != 0) {
    int64_t added = 0;
    for (size_t s = 0; s < write.spans.size(); ++s) {
      added += CountPages(write.spans[s].mask() & ~write.present_before[s]);
    }
    if (added > 0) {
      // Counted first, so two brokers racing for the last bytes cannot
      // both get them; given back if over.
      const CallOptions call = WriteCall(deadline);
      absl::StatusOr<std::pair<int64_t, int64_t>> after =
          AddPages(store, added, call);
      absl::Status status = after.status();
      if (status.ok()) {
        status = CheckLimits(store, (after->first - added) * kPageBytes,
                             (after->second - added) * kPageBytes,
                             added * kPageBytes, limits);
        if (!status.ok()) AddPages(store, -added, call).IgnoreError();
      }
      if (!status.ok()) {
        AbandonWrite(write, deadline);
        return status;
      }
      write.reserved_pages = added;
    }
  }
  return FinishWrite(write, data, deadline);
}

absl::Status RedisStore::FinishWrite(PendingWrite& write,
                                     absl::string_view data,
                                     absl::Time deadline) {
  const std::string version = NextVersion();
  std::vector<Command> commands;
  for (const WindowSpan& span : write.spans) {
    commands.push_back(
        commands_.End(WindowKey(write.store, span.window), span.first,
                      std::string(data.substr(span.request * kPageBytes,
                                              span.count * kPageBytes)),
                      version, span.mask()));
  }
  const CallOptions call = WriteCall(deadline);
  std::vector<Result> results =
      commands_.Run(*client_, std::move(commands), call);
  std::vector<size_t> failed;
  absl::Status failure = FirstFailure(results, &failed);
  int64_t added = 0;
  std::set<NodeAddress> masters;
  for (size_t s = 0; s < results.size(); ++s) {
    absl::StatusOr<long long> present = LastInteger(results[s]);
    if (!present.ok()) continue;
    masters.insert(results[s].node);
    added +=
        CountPages(write.spans[s].mask() & ~static_cast<uint32_t>(*present));
  }
  if (!failed.empty()) {
    PendingWrite unfinished = write;
    unfinished.spans.clear();
    for (size_t s : failed) unfinished.spans.push_back(write.spans[s]);
    AbandonWrite(unfinished, deadline);
  }
  const int64_t delta = added - static_cast<int64_t>(write.reserved_pages);
  if (delta != 0 || write.reserved_pages == 0) {
    absl::Status counted = AddPages(write.store, delta, call).status();
    if (failure.ok()) failure = counted;
  }
  if (!failure.ok()) {
    return absl::Status(
        failure.code(),
        absl::StrCat(
            failure.message(), " (", write.spans.size() - failed.size(), " of ",
            write.spans.size(), " windows written; writing again is safe)"));
  }
  if (options_.ack_replicated) {
    return WaitForReplicas({masters.begin(), masters.end()}, call);
  }
  return absl::OkStatus();
}

void RedisStore::AbandonWrite(const PendingWrite& write, absl::Time deadline) {
  std::vector<Command> commands;
  for (const WindowSpan& span : write.spans) {
    commands.push_back(
        commands_.ClearBusy(WindowKey(write.store, span.window), span.mask()));
  }
  // Best effort: marks that cannot be cleared end with their lease.
  commands_.Run(*client_, std::move(commands), CallOptions{deadline});
}

absl::StatusOr<std::pair<int64_t, int64_t>> RedisStore::AddPages(
    absl::string_view store, int64_t pages, const CallOptions& options) {
  const std::string count = absl::StrCat(pages);
  std::vector<Command> commands = {
      Command{{"HINCRBY", StoreKey(store), "pages", count}, 1, false},
      Command{{"INCRBY", kTotalKey, count}, 1, false},
      Command{{"SADD", kStoresKey, std::string(store)}},
  };
  std::vector<Result> results = client_->ExecuteBatch(commands, options);
  RETURN_IF_ERROR(FirstFailure(results, nullptr));
  return std::make_pair(results[0].reply->integer, results[1].reply->integer);
}

absl::Status RedisStore::WaitForReplicas(
    const std::vector<NodeAddress>& masters, const CallOptions& options) {
  std::vector<NodeCommand> waits;
  for (const NodeAddress& master : masters) {
    waits.push_back(NodeCommand{
        master,
        {"WAIT", "1",
         absl::StrCat(absl::ToInt64Milliseconds(options_.replica_wait))}});
  }
  std::vector<Result> results = client_->ExecuteOn(waits, options);
  RETURN_IF_ERROR(FirstFailure(results, nullptr));
  for (const Result& result : results) {
    if (result.reply->integer < 1) {
      return absl::UnavailableError(
          absl::StrCat("redis ", result.node.ToString(),
                       ": the write is stored but no "
                       "replica confirmed it within ",
                       absl::FormatDuration(options_.replica_wait),
                       " (acknowledged means replicated)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace faultline::broker::redis
