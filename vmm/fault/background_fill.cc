#include "vmm/fault/background_fill.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_format.h"
#include "proto/faultline/v1/wire.h"
#include "vmm/fault/answer_installer.h"
#include "vmm/fault/fault_policy.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kPageBytes = v1::wire::kPageBytes;
constexpr uint64_t kProbePages = 64;  // pages per mincore call
// How long the fill waits when it cannot ask: no stream, or faults first.
constexpr absl::Duration kNoStreamPause = absl::Milliseconds(50);
constexpr absl::Duration kFaultsFirstPause = absl::Milliseconds(1);
constexpr absl::Duration kMinRetryPause = absl::Milliseconds(1);

void Log(const std::string& message) {
  std::fprintf(stderr, "vmm: background fill: %s\n", message.c_str());
}

}  // namespace

BackgroundFill::BackgroundFill(const GuestMemory* memory, Userfaultfd* uffd,
                               const StagingSlots* slots, FaultStats* stats,
                               const std::vector<v1::Region>& regions,
                               BackgroundFillOptions options, Hooks hooks)
    : memory_(memory),
      uffd_(uffd),
      slots_(slots),
      stats_(stats),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      plan_(options_.replay, {}) {
  std::vector<FillRegion> address_order;
  for (const v1::Region& region : regions) {
    if (region.kind() != v1::REGION_KIND_RAM) continue;
    ram_.push_back(region);
    if (options_.address_order) {
      address_order.push_back({region.region_id(), region.size_bytes()});
    }
  }
  plan_ = FillPlan(options_.replay, std::move(address_order));
}

BackgroundFill::~BackgroundFill() { Stop(); }

void BackgroundFill::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void BackgroundFill::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool BackgroundFill::done() const {
  absl::MutexLock lock(&mutex_);
  return done_;
}

bool BackgroundFill::Resident(uint32_t region_id, uint64_t offset) {
  const MappedRegion* region = memory_->FindRegion(region_id);
  if (region == nullptr) return true;  // nothing to fill there
  if (!options_.probe_residency) return false;
  const uint64_t chunk = offset / (kProbePages * kPageBytes);
  const uint64_t key = (uint64_t{region_id} << 40) | chunk;
  if (key != cached_chunk_) {
    const uint64_t start = chunk * kProbePages * kPageBytes;
    const uint64_t length =
        std::min(kProbePages * kPageBytes, region->spec.size_bytes - start);
    cached_residency_.assign(length / kPageBytes, 0);
    if (::mincore(region->host_base() + start, length,
                  cached_residency_.data()) != 0) {
      // Cannot tell: ask; a present page answers EEXIST and stays.
      cached_residency_.assign(length / kPageBytes, 0);
    }
    cached_chunk_ = key;
  }
  const uint64_t index = (offset / kPageBytes) % kProbePages;
  return index < cached_residency_.size() &&
         (cached_residency_[index] & 1) != 0;
}

void BackgroundFill::Loop() {
  absl::Time next_ask = absl::Now();
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      // At most asks_in_flight out: wait for an answer, or give asks up
      // after the deadline (their pages come again).
      const size_t most = std::max<uint32_t>(options_.asks_in_flight, 1);
      while (!stopping_ && in_flight_.size() >= most) {
        const absl::Time now = absl::Now();
        for (auto it = in_flight_.begin(); it != in_flight_.end();) {
          if (now - it->second.sent > options_.ask_deadline) {
            put_back_.push_back(it->second.run);
            in_flight_.erase(it++);
          } else {
            ++it;
          }
        }
        if (in_flight_.size() < most) break;
        auto room = [this, most]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
          return stopping_ || in_flight_.size() < most;
        };
        mutex_.AwaitWithTimeout(absl::Condition(&room),
                                absl::Milliseconds(100));
      }
      // Paused (a retry answer) or rate-bounded: sleep, waking for a stop.
      const absl::Time wake = std::max(paused_until_, next_ask);
      mutex_.AwaitWithDeadline(absl::Condition(&stopping_), wake);
      if (stopping_) return;
      for (const FillRun& run : put_back_) plan_.PutBack(run);
      put_back_.clear();
    }
    // Address order yields to every waiting fault. A replay does not: its
    // pages are the ones the guest faults on next, and stopping for each
    // fault lets the guest catch up and fault on the rest.
    if (!plan_.replaying() && hooks_.guest_faults_waiting()) {
      next_ask = absl::Now() + kFaultsFirstPause;
      continue;
    }
    cached_chunk_ = ~uint64_t{0};  // residency as of now
    std::optional<FillRun> run = plan_.Next(
        [this](uint32_t region_id, uint64_t offset) {
          return Resident(region_id, offset);
        },
        std::max<uint32_t>(options_.max_run_pages, 1));
    if (!run.has_value()) {
      absl::MutexLock lock(&mutex_);
      done_ = true;
      return;
    }
    v1::FaultStreamRequest request;
    v1::FaultRequest* ask = request.mutable_fault();
    ask->set_region_id(run->region_id);
    ask->set_offset(run->offset);
    ask->set_access(v1::ACCESS_KIND_READ);
    ask->set_vcpu(0xFFFFFFFF);
    ask->set_attempt(1);
    ask->set_prefetch_hint(run->pages - 1);
    {
      absl::MutexLock lock(&mutex_);
      const uint64_t id = kFillIdBit | next_id_++;
      ask->set_fault_id(id);
      in_flight_[id] = Ask{id, *run, absl::Now()};
    }
    if (hooks_.send(request) == 0) {
      absl::MutexLock lock(&mutex_);
      in_flight_.erase(ask->fault_id());
      plan_.PutBack(*run);
      paused_until_ = absl::Now() + kNoStreamPause;
      continue;
    }
    Count(FaultStats::Counter::kFillAsks);
    const double rate = std::max<uint32_t>(options_.pages_per_second, 1);
    next_ask = absl::Now() + absl::Seconds(run->pages / rate);
  }
}

void BackgroundFill::OnStreamOpen() {
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, ask] : in_flight_) put_back_.push_back(ask.run);
  in_flight_.clear();
}

void BackgroundFill::OnAnswer(const v1::FaultAnswer& answer) {
  Ask ask;
  {
    absl::MutexLock lock(&mutex_);
    auto it = in_flight_.find(answer.fault_id());
    if (it == in_flight_.end()) {
      Count(FaultStats::Counter::kStaleAnswers);
      return;
    }
    ask = it->second;
  }
  const MappedRegion* region = memory_->FindRegion(ask.run.region_id);
  RegionRules rules;
  rules.region_id = ask.run.region_id;
  rules.size_bytes = region != nullptr ? region->spec.size_bytes : 0;
  absl::StatusOr<AnswerAction> action = ValidateAnswer(
      answer, AskedFault{ask.id, ask.run.region_id, ask.run.offset}, rules,
      *slots_);
  std::vector<uint64_t> installed;
  bool put_back = false;
  absl::Duration pause = absl::ZeroDuration();
  if (!action.ok() || region == nullptr) {
    Count(FaultStats::Counter::kRejectedAnswers);
    Log(std::string(action.status().message()));
  } else if (*action == AnswerAction::kInstallPage ||
             *action == AnswerAction::kInstallZero) {
    installed = Install(answer, *region);
  } else if (*action == AnswerAction::kRetry) {
    Count(FaultStats::Counter::kFillRetries);
    put_back = true;
    pause = std::max(absl::Microseconds(answer.retry().delay_hint_us()),
                     kMinRetryPause);
  } else {
    // An error: the guest's own fault on these pages will meet it.
    Count(FaultStats::Counter::kFillDropped, ask.run.pages);
  }
  if (!installed.empty()) hooks_.installed(installed);
  absl::MutexLock lock(&mutex_);
  in_flight_.erase(ask.id);
  if (put_back) put_back_.push_back(ask.run);
  if (pause > absl::ZeroDuration()) paused_until_ = absl::Now() + pause;
}

std::vector<uint64_t> BackgroundFill::Install(const v1::FaultAnswer& answer,
                                              const MappedRegion& region) {
  std::vector<uint64_t> installed;
  absl::StatusOr<std::vector<AnswerPage>> pages = AnswerPages(answer, *slots_);
  if (!pages.ok()) {
    Log(pages.status().ToString());
    return installed;
  }
  const uint64_t base = reinterpret_cast<uint64_t>(region.host_base());
  uint64_t zero_start = 0;
  uint64_t zero_pages = 0;
  for (const AnswerPage& page : *pages) {
    const uint64_t address = base + page.offset;
    const bool zero = page.bytes == nullptr;
    if (zero && zero_pages > 0 &&
        address == zero_start + zero_pages * kPageBytes) {
      ++zero_pages;
      continue;
    }
    if (zero_pages > 0) InstallZeroRun(zero_start, zero_pages, &installed);
    zero_pages = 0;
    if (zero) {
      zero_start = address;
      zero_pages = 1;
      continue;
    }
    absl::Status copied = uffd_->Copy(address, page.bytes, kPageBytes, false);
    if (absl::IsAlreadyExists(copied)) {
      Count(FaultStats::Counter::kFillAlreadyPresent);
    } else if (!copied.ok()) {
      Log(copied.ToString());
    } else {
      Count(FaultStats::Counter::kFillPages);
      installed.push_back(address);
    }
  }
  if (zero_pages > 0) InstallZeroRun(zero_start, zero_pages, &installed);
  if (installed.empty()) return installed;
  // One wake for the run: a vCPU may have faulted on a page meanwhile.
  const auto [low, high] =
      std::minmax_element(installed.begin(), installed.end());
  if (absl::Status woken = uffd_->Wake(*low, *high + kPageBytes - *low);
      !woken.ok()) {
    Log(woken.ToString());
  }
  return installed;
}

void BackgroundFill::InstallZeroRun(uint64_t address, uint64_t pages,
                                    std::vector<uint64_t>* installed) {
  uint64_t page = 0;
  while (page < pages) {
    const uint64_t start = address + page * kPageBytes;
    size_t zeroed = 0;
    absl::Status status =
        uffd_->ZeroPage(start, (pages - page) * kPageBytes, false, &zeroed);
    const uint64_t done = zeroed / kPageBytes;
    Count(FaultStats::Counter::kFillZeroPages, done);
    for (uint64_t i = 0; i < done; ++i) {
      installed->push_back(start + i * kPageBytes);
    }
    page += done;
    if (status.ok()) return;
    if (!absl::IsAlreadyExists(status)) {
      Log(status.ToString());
      return;
    }
    // The page at `page` got there first: it stays, the rest goes on.
    Count(FaultStats::Counter::kFillAlreadyPresent);
    ++page;
  }
}

}  // namespace faultline::vmm
