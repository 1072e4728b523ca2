// RedisStore's admin calls: listing the stores with their sizes, and
// deleting one (every master SCANned for its windows).
#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/redis/redis_store.h"
#include "proto/base/status_macros.h"

namespace faultline::broker::redis {
namespace {

absl::StatusOr<Reply> ReplyOf(const Result& result) {
  if (!result.reply.ok()) return result.reply.status();
  if (result.reply->is_error()) {
    return absl::UnavailableError(absl::StrCat("redis ", result.node.ToString(),
                                               ": ", result.reply->str));
  }
  return *result.reply;
}

int64_t CountOf(const Reply& reply) {
  int64_t count = 0;
  if (reply.type == Reply::Type::kInteger) return reply.integer;
  // A count that is not a number is no count.
  if (reply.type == Reply::Type::kString &&
      !absl::SimpleAtoi(reply.str, &count)) {
    return 0;
  }
  return count;
}

}  // namespace

absl::StatusOr<std::vector<StoreInfo>> RedisStore::List(absl::Time deadline) {
  const CallOptions call{deadline};
  ASSIGN_OR_RETURN(Reply names, ReplyOf(client_->Execute(
                                    Command{{"SMEMBERS", kStoresKey}}, call)));
  std::vector<Command> counts;
  for (const Reply& name : names.elements) {
    counts.push_back(Command{{"HGET", StoreKey(name.str), "pages"}});
  }
  std::vector<Result> results = client_->ExecuteBatch(counts, call);
  std::vector<StoreInfo> stores;
  for (size_t i = 0; i < results.size(); ++i) {
    ASSIGN_OR_RETURN(Reply pages, ReplyOf(results[i]));
    stores.push_back(
        StoreInfo{names.elements[i].str,
                  static_cast<uint64_t>(std::max<int64_t>(0, CountOf(pages)))});
  }
  std::sort(
      stores.begin(), stores.end(),
      [](const StoreInfo& a, const StoreInfo& b) { return a.name < b.name; });
  return stores;
}

absl::StatusOr<uint64_t> RedisStore::Delete(absl::string_view store,
                                            absl::Time deadline) {
  RETURN_IF_ERROR(ValidateStoreName(store));
  const CallOptions call{deadline};
  const std::string name(store);
  std::vector<Result> known =
      client_->ExecuteBatch({Command{{"SISMEMBER", kStoresKey, name}},
                             Command{{"HGET", StoreKey(store), "pages"}}},
                            call);
  ASSIGN_OR_RETURN(Reply member, ReplyOf(known[0]));
  ASSIGN_OR_RETURN(Reply counted, ReplyOf(known[1]));
  const int64_t pages = CountOf(counted);
  if (member.integer == 0 && counted.type == Reply::Type::kNil) {
    return absl::NotFoundError(absl::StrCat("no store named ", store));
  }
  // Windows first, the name and counts last: a delete that fails part way
  // leaves the store listed, and running it again finishes it.
  const std::string pattern = WindowKeyPattern(store);
  for (const NodeAddress& master : client_->Masters()) {
    std::string cursor = "0";
    do {
      ASSIGN_OR_RETURN(
          Reply scanned,
          ReplyOf(client_->ExecuteOn(
              master, {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"},
              call)));
      if (scanned.type != Reply::Type::kArray || scanned.elements.size() != 2) {
        return absl::UnavailableError(absl::StrCat("redis ", master.ToString(),
                                                   ": unexpected SCAN reply ",
                                                   scanned.Summary()));
      }
      cursor = scanned.elements[0].str;
      std::vector<Command> unlinks;
      for (const Reply& key : scanned.elements[1].elements) {
        unlinks.push_back(Command{{"UNLINK", key.str}});
      }
      for (const Result& result : client_->ExecuteBatch(unlinks, call)) {
        RETURN_IF_ERROR(ReplyOf(result).status());
      }
    } while (cursor != "0");
  }
  std::vector<Result> forgotten = client_->ExecuteBatch(
      {Command{{"SREM", kStoresKey, name}}, Command{{"DEL", StoreKey(store)}},
       Command{{"INCRBY", kTotalKey, absl::StrCat(-pages)}, 1, false}},
      call);
  for (const Result& result : forgotten)
    RETURN_IF_ERROR(ReplyOf(result).status());
  cache_.EraseMatching(absl::StrCat("fl:w:{", EncodeStoreName(store), ":"));
  return static_cast<uint64_t>(std::max<int64_t>(0, pages));
}

}  // namespace faultline::broker::redis
