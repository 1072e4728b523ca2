#include "integration/bench/fault_path_run.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "integration/bench/broker_client.h"
#include "integration/bench/first_touch.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/memory/memory_layout.h"

namespace faultline::bench {
namespace {

constexpr uint32_t kRegionId = 1;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The touchers: each waits for the start signal, then times its first read
// of every page in its plan.
class Touchers {
 public:
  Touchers(uint8_t* base, const TouchPlanOptions& plan) {
    for (int t = 0; t < plan.threads; ++t)
      plans_.push_back(PagesForThread(plan, t));
    samples_.resize(plans_.size());
    for (size_t t = 0; t < plans_.size(); ++t) {
      threads_.emplace_back([this, base, t] { Touch(base, t); });
    }
  }
  ~Touchers() { Join(); }

  void Go() {
    started_ns_ = NowNanos();
    start_.Notify();
  }
  // True when every toucher finished within `timeout`.
  bool WaitDone(absl::Duration timeout) {
    absl::MutexLock lock(&mutex_);
    auto all_done = [this] {
      mutex_.AssertHeld();
      return done_ == plans_.size();
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&all_done), timeout);
  }
  void Join() {
    // A toucher is never left waiting for the start.
    if (!start_.HasBeenNotified()) start_.Notify();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }
  double Seconds() {
    absl::MutexLock lock(&mutex_);
    return static_cast<double>(finished_ns_ - started_ns_) / 1e9;
  }
  std::vector<int64_t> AllSamples() {
    std::vector<int64_t> all;
    for (const std::vector<int64_t>& samples : samples_) {
      all.insert(all.end(), samples.begin(), samples.end());
    }
    return all;
  }

 private:
  void Touch(uint8_t* base, size_t t) {
    start_.WaitForNotification();
    std::vector<int64_t>& samples = samples_[t];
    samples.reserve(plans_[t].size());
    for (const uint64_t page : plans_[t]) {
      const int64_t before = NowNanos();
      (void)*static_cast<volatile uint8_t*>(base + page * v1::wire::kPageBytes);
      samples.push_back(NowNanos() - before);
    }
    absl::MutexLock lock(&mutex_);
    ++done_;
    finished_ns_ = std::max(finished_ns_, NowNanos());
  }

  std::vector<std::vector<uint64_t>> plans_;
  std::vector<std::vector<int64_t>> samples_;  // one per thread, its own
  std::vector<std::thread> threads_;
  absl::Notification start_;
  int64_t started_ns_ = 0;
  absl::Mutex mutex_;
  size_t done_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t finished_ns_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace

absl::StatusOr<ServedRegion> ServeRegion(
    const ServerSpec& spec, uint64_t region_bytes,
    const std::optional<v1::Source>& source) {
  if (region_bytes == 0 || region_bytes % v1::wire::kPageBytes != 0) {
    return absl::InvalidArgumentError("region size must be whole pages");
  }
  vmm::MemoryLayout layout;
  RETURN_IF_ERROR(layout.Add(
      {kRegionId, "ram", vmm::RegionKind::kRam, kBenchRamBase, region_bytes}));
  ServedRegion served;
  ASSIGN_OR_RETURN(served.memory, vmm::GuestMemory::Create(layout));
  v1::Region attached =
      PatternRegion(kRegionId, kBenchRamBase, region_bytes, kBenchSeed);
  if (source.has_value()) *attached.mutable_source() = *source;
  ASSIGN_OR_RETURN(served.server,
                   StartPageServer(served.memory.get(), attached, spec));
  served.base = served.memory->FindRegion(kRegionId)->host_base();
  served.pages = region_bytes / v1::wire::kPageBytes;
  return served;
}

absl::StatusOr<FaultPathResult> RunFaultPath(const FaultPathSpec& spec) {
  ServerSpec server_spec;
  server_spec.mode = spec.mode;
  server_spec.target = spec.target;
  server_spec.vm_name = spec.vm_name;
  server_spec.vm_token = spec.vm_token;
  server_spec.prefetch = spec.prefetch;
  server_spec.ring_spin = spec.ring_spin;
  ASSIGN_OR_RETURN(ServedRegion served,
                   ServeRegion(server_spec, spec.region_bytes, spec.source));
  std::unique_ptr<PageServer>& server = served.server;
  uint8_t* base = served.base;
  TouchPlanOptions plan;
  plan.total_pages = spec.region_bytes / v1::wire::kPageBytes;
  plan.threads = spec.threads;
  plan.order = spec.order;
  plan.stride_pages = spec.stride_pages;
  Touchers touchers(base, plan);
  touchers.Go();
  const bool finished = touchers.WaitDone(spec.deadline);
  const ServerCounts counts = server->Counts();
  const absl::Status failure = server->failure();
  if (!finished || !failure.ok()) {
    server.reset();  // closes the userfaultfd: blocked touchers go on
    touchers.Join();
    if (!failure.ok()) return failure;
    return absl::DeadlineExceededError(absl::StrCat(
        "touchers did not finish within ", absl::FormatDuration(spec.deadline),
        " (", counts.faults, " faults served)"));
  }
  touchers.Join();
  server.reset();  // detach before the next configuration attaches

  FaultPathResult result;
  result.spec = spec;
  result.pages = plan.total_pages;
  const uint64_t mismatched = MismatchedPages(base, result.pages);
  if (mismatched != 0) {
    return absl::DataLossError(absl::StrCat(mismatched, " of ", result.pages,
                                            " pages hold the wrong bytes"));
  }
  std::vector<int64_t> samples = touchers.AllSamples();
  result.latency = Summarize(samples);
  result.seconds = touchers.Seconds();
  result.counts = counts;
  if (result.seconds > 0) {
    result.faults_per_second =
        static_cast<double>(counts.faults) / result.seconds;
    result.pages_per_second =
        static_cast<double>(result.pages) / result.seconds;
  }
  return result;
}

}  // namespace faultline::bench
