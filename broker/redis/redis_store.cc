// RedisStore: connecting, and the read path (cache check in the same round
// trip as the read). Writes: redis_store_write.cc; list and delete:
// redis_store_admin.cc.
#include "broker/redis/redis_store.h"

#include <random>

#include "absl/strings/numbers.h"
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

// What one window's read transaction brought back.
struct WindowRead {
  std::optional<WindowHeader> header;  // nullopt: no such window
  std::string pages;                   // when asked for
  double now_ms = 0;                   // the node's clock
};

absl::StatusOr<WindowRead> ParseRead(Result result, bool with_pages) {
  if (!result.reply.ok()) return result.reply.status();
  Reply& reply = *result.reply;
  const size_t expected = with_pages ? 3 : 2;
  if (reply.type != Reply::Type::kArray || reply.elements.size() != expected ||
      reply.elements.back().elements.size() != 2) {
    return absl::UnavailableError(absl::StrCat(
        "redis ", result.node.ToString(), ": ",
        reply.is_error() ? reply.str : "unexpected reply " + reply.Summary()));
  }
  WindowRead read;
  const std::string& header = reply.elements[0].str;
  if (!header.empty()) {
    read.header = ParseWindowHeader(header);
    if (!read.header) {
      return absl::DataLossError(absl::StrCat("redis ", result.node.ToString(),
                                              ": a window header of ",
                                              header.size(), " bytes"));
    }
  }
  if (with_pages) read.pages = std::move(reply.elements[1].str);
  double seconds = 0, micros = 0;
  const std::vector<Reply>& time = reply.elements.back().elements;
  if (!absl::SimpleAtod(time[0].str, &seconds) ||
      !absl::SimpleAtod(time[1].str, &micros)) {
    return absl::UnavailableError(absl::StrCat("redis ", result.node.ToString(),
                                               ": unexpected TIME reply"));
  }
  read.now_ms = seconds * 1000 + micros / 1000;
  return read;
}

}  // namespace

RedisStore::RedisStore(RedisStoreOptions options,
                       std::unique_ptr<Client> client, WindowCommands commands)
    : options_(std::move(options)),
      client_(std::move(client)),
      commands_(std::move(commands)),
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
  ASSIGN_OR_RETURN(WindowCommands commands,
                   WindowCommands::Load(*client, call));
  return std::unique_ptr<RedisStore>(new RedisStore(
      std::move(options), std::move(client), std::move(commands)));
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
  // First round: a window with a cached copy asks for its header only.
  std::vector<std::string> keys;
  std::vector<std::optional<WindowCache::Snapshot>> cached;
  std::vector<Command> commands;
  for (const WindowSpan& span : spans) {
    keys.push_back(WindowKey(store, span.window));
    cached.push_back(cache_.Find(keys.back(), span.mask()));
    commands.push_back(WindowCommands::Read(keys.back(), span.first, span.count,
                                            !cached.back()));
  }
  std::vector<Result> results = client_->ExecuteBatch(commands, {deadline});
  std::vector<absl::StatusOr<WindowRead>> reads;
  for (size_t s = 0; s < spans.size(); ++s) {
    reads.push_back(ParseRead(std::move(results[s]), !cached[s]));
  }
  // Second round, for copies that turned out old: the pages, too.
  std::vector<Command> again;
  std::vector<size_t> again_index;
  for (size_t s = 0; s < spans.size(); ++s) {
    if (!cached[s] || !reads[s].ok() || !reads[s]->header ||
        reads[s]->header->version == cached[s]->version) {
      continue;
    }
    cached[s].reset();
    again.push_back(
        WindowCommands::Read(keys[s], spans[s].first, spans[s].count, true));
    again_index.push_back(s);
  }
  std::vector<Result> retried = client_->ExecuteBatch(again, {deadline});
  for (size_t k = 0; k < again.size(); ++k) {
    reads[again_index[k]] = ParseRead(std::move(retried[k]), true);
  }

  for (size_t s = 0; s < spans.size(); ++s) {
    const WindowSpan& span = spans[s];
    StorePage* out = &pages[span.request];
    if (!reads[s].ok()) {
      for (uint32_t i = 0; i < span.count; ++i) {
        out[i] = Unavailable(std::string(reads[s].status().message()));
      }
      continue;
    }
    const WindowRead& read = *reads[s];
    if (!read.header) {
      // No such window (never put, or deleted): every page missing.
      if (cached[s]) cache_.EraseMatching(keys[s]);
      continue;
    }
    const WindowHeader& header = *read.header;
    WindowPages window;
    if (cached[s]) {
      window = cached[s]->pages;
      ++hits_;
    } else {
      for (uint32_t i = 0; i < span.count; ++i) {
        const uint32_t page = span.first + i;
        if ((header.present & (1u << page)) == 0 ||
            read.pages.size() < (i + 1) * kPageBytes) {
          continue;
        }
        window[page] = std::make_shared<const std::string>(
            read.pages.substr(i * kPageBytes, kPageBytes));
      }
      cache_.Store(keys[s], header.version, header.present, span.mask(),
                   window);
      ++misses_;
    }
    const uint32_t busy = BusyAt(header, read.now_ms);
    for (uint32_t i = 0; i < span.count; ++i) {
      const uint32_t bit = 1u << (span.first + i);
      if (busy & bit) {
        out[i].state = StorePage::State::kBeingWritten;
      } else if ((header.present & bit) == 0) {
        out[i].state = StorePage::State::kMissing;
      } else if (window[span.first + i] == nullptr) {
        // Present, but no bytes came: never say missing for it.
        out[i] = Unavailable(
            absl::StrCat("redis: window ", keys[s], " came back short"));
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
