// RedisStore: connecting, and the read path (cache check in the same round
// trip as the read). Writes: redis_store_write.cc; list and delete:
// redis_store_admin.cc.
#include "broker/redis/redis_store.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/base/status_macros.h"

namespace faultline::broker::redis {
namespace {

uint64_t RandomWriterId() {
  std::random_device random;  // getrandom(2) in libstdc++
  return (uint64_t{random()} << 32) ^ random();
}

StorePage Unavailable(std::string reason) {
  StorePage page;
  page.state = StorePage::State::kUnavailable;
  page.reason = std::move(reason);
  return page;
}

}  // namespace

RedisStore::RedisStore(RedisStoreOptions options,
                       std::unique_ptr<Client> client, WindowScripts scripts)
    : options_(std::move(options)),
      client_(std::move(client)),
      scripts_(std::move(scripts)),
      cache_(options_.cache_bytes),
      writer_id_(RandomWriterId()) {}

absl::StatusOr<std::unique_ptr<RedisStore>> RedisStore::Connect(
    RedisStoreOptions options, absl::Time deadline) {
  ASSIGN_OR_RETURN(std::unique_ptr<Client> client,
                   Client::Connect(options.client, deadline));
  const CallOptions call{deadline};
  Result marked =
      client->Execute(Command{{"SET", kLayoutKey, kLayoutName, "NX"}}, call);
  if (!marked.reply.ok()) return marked.reply.status();
  Result layout = client->Execute(Command{{"GET", kLayoutKey}}, call);
  if (!layout.reply.ok()) return layout.reply.status();
  if (layout.reply->str != kLayoutName) {
    return absl::FailedPreconditionError(
        absl::StrCat(client->Describe(),
                     " holds faultline pages laid out as \"", layout.reply->str,
                     "\"; this broker reads and writes \"", kLayoutName, "\""));
  }
  ASSIGN_OR_RETURN(WindowScripts scripts, WindowScripts::Load(*client, call));
  return std::unique_ptr<RedisStore>(new RedisStore(
      std::move(options), std::move(client), std::move(scripts)));
}

std::string RedisStore::Describe() const {
  return absl::StrCat(client_->Describe(), ", cache ",
                      options_.cache_bytes >> 20, " MiB",
                      options_.ack_replicated ? ", acks replicated" : "");
}

std::string RedisStore::NextVersion() {
  const uint64_t counter = ++writes_;
  std::string version(kVersionBytes, '\0');
  for (int i = 0; i < 8; ++i) {
    version[i] = static_cast<char>(writer_id_ >> (8 * i));
    version[8 + i] = static_cast<char>(counter >> (8 * i));
  }
  return version;
}

std::vector<StorePage> RedisStore::Read(absl::string_view store,
                                        uint64_t offset, uint32_t count,
                                        absl::Time deadline) {
  std::vector<StorePage> pages(count);
  if (!ValidateStoreName(store).ok() || offset % kPageBytes != 0) {
    return pages;  // no such store holds anything: missing
  }
  const std::vector<WindowSpan> spans =
      SplitIntoWindows(offset / kPageBytes, count);
  std::vector<std::string> keys;
  std::vector<std::optional<WindowCache::Snapshot>> cached;
  std::vector<Command> commands;
  for (const WindowSpan& span : spans) {
    keys.push_back(WindowKey(store, span.window));
    cached.push_back(cache_.Find(keys.back(), span.mask()));
    commands.push_back(scripts_.Make(
        WindowScript::kRead, keys.back(),
        {absl::StrCat(span.first), absl::StrCat(span.count),
         cached.back() ? cached.back()->version : std::string()}));
  }
  std::vector<Result> results =
      scripts_.Run(*client_, std::move(commands), CallOptions{deadline});

  for (size_t s = 0; s < spans.size(); ++s) {
    const WindowSpan& span = spans[s];
    StorePage* out = &pages[span.request];
    const Result& result = results[s];
    if (!result.reply.ok() || result.reply->is_error()) {
      const std::string reason =
          result.reply.ok() ? absl::StrCat("redis ", result.node.ToString(),
                                           ": ", result.reply->str)
                            : std::string(result.reply.status().message());
      for (uint32_t i = 0; i < span.count; ++i) out[i] = Unavailable(reason);
      continue;
    }
    const Reply& reply = *result.reply;
    if (reply.type == Reply::Type::kArray && reply.elements.empty()) {
      continue;  // no such window: every page missing
    }
    if (reply.type != Reply::Type::kArray || reply.elements.size() != 4) {
      for (uint32_t i = 0; i < span.count; ++i) {
        out[i] = Unavailable(absl::StrCat("redis ", result.node.ToString(),
                                          ": unexpected read reply ",
                                          reply.Summary()));
      }
      continue;
    }
    const std::string& version = reply.elements[0].str;
    const uint32_t present = static_cast<uint32_t>(reply.elements[1].integer);
    const uint32_t busy = static_cast<uint32_t>(reply.elements[2].integer);
    const Reply& data = reply.elements[3];
    const std::optional<WindowCache::Snapshot>& copy = cached[s];
    WindowPages window;
    if (data.type == Reply::Type::kNil && copy && copy->version == version) {
      window = copy->pages;
      ++hits_;
    } else {
      for (uint32_t i = 0; i < span.count; ++i) {
        const uint32_t page = span.first + i;
        if ((present & (1u << page)) == 0 ||
            data.str.size() < (i + 1) * kPageBytes) {
          continue;
        }
        window[page] = std::make_shared<const std::string>(
            data.str.substr(i * kPageBytes, kPageBytes));
      }
      cache_.Store(keys[s], version, present, span.mask(), window);
      ++misses_;
    }
    for (uint32_t i = 0; i < span.count; ++i) {
      const uint32_t bit = 1u << (span.first + i);
      if (busy & bit) {
        out[i].state = StorePage::State::kBeingWritten;
      } else if ((present & bit) == 0) {
        out[i].state = StorePage::State::kMissing;
      } else if (window[span.first + i] == nullptr) {
        // Present, but no bytes came: never say missing for it.
        out[i] = Unavailable(absl::StrCat("redis ", result.node.ToString(),
                                          ": window ", keys[s],
                                          " changed during the read"));
      } else {
        out[i].state = StorePage::State::kPresent;
        out[i].data = window[span.first + i];
      }
    }
  }
  return pages;
}

RedisStore::CacheStats RedisStore::cache_stats() const {
  return CacheStats{hits_.load(), misses_.load(), cache_.stats()};
}

}  // namespace faultline::broker::redis
