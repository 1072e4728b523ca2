#include "vmm/fault/fault_engine.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {
namespace {

constexpr absl::Duration kMaxPollInterval = absl::Milliseconds(100);
constexpr absl::Duration kReleaseFlushInterval = absl::Milliseconds(1);

PrefetchWindowOptions WindowOptions(const FaultEngine::Options& options) {
  PrefetchWindowOptions window;
  window.adaptive = options.prefetch_adaptive;
  window.initial_pages = options.prefetch_hint;
  return window;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FaultEngine>> FaultEngine::Create(
    const GuestMemory* memory, Options options, StopCallback on_stop) {
  ASSIGN_OR_RETURN(options.transport.session.regions,
                   AttachedRegions(*memory, options.sources));
  ASSIGN_OR_RETURN(std::unique_ptr<Userfaultfd> uffd, Userfaultfd::Create());
  for (const MappedRegion& region : memory->regions()) {
    RETURN_IF_ERROR(uffd->Register(region.host_base(), region.spec.size_bytes));
  }
  UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd.valid()) return ErrnoError("eventfd");
  std::unique_ptr<FaultEngine> engine(
      new FaultEngine(memory, std::move(options), std::move(uffd),
                      std::move(wake_fd), std::move(on_stop)));
  FaultEngine* e = engine.get();
  if (e->options_.fill.enabled()) {
    BackgroundFill::Hooks hooks;
    hooks.send = [e](const v1::FaultStreamRequest& request) {
      return e->writer_.Send(request);
    };
    hooks.guest_faults_waiting = [e] { return e->table_.size() > 0; };
    hooks.installed = [e](const std::vector<uint64_t>& pages) {
      e->table_.ResolvePages(pages);
    };
    e->fill_ = std::make_unique<BackgroundFill>(
        memory, e->uffd_.get(), &e->slots_, &e->stats_,
        e->options_.transport.session.regions, e->options_.fill,
        std::move(hooks));
  }
  ASSIGN_OR_RETURN(e->transport_,
                   BrokerTransport::Connect(e->options_.transport, &e->handler_,
                                            &e->writer_));
  e->reader_ = std::thread([e] { e->ReaderLoop(); });
  if (e->fill_ != nullptr) e->fill_->Start();
  return engine;
}

FaultEngine::FaultEngine(const GuestMemory* memory, Options options,
                         std::unique_ptr<Userfaultfd> uffd, UniqueFd wake_fd,
                         StopCallback on_stop)
    : memory_(memory),
      options_(std::move(options)),
      uffd_(std::move(uffd)),
      wake_fd_(std::move(wake_fd)),
      stop_(std::move(on_stop)),
      table_(options_.retry, Clock::Real()),
      installer_(memory_, uffd_.get(), &slots_, &stats_),
      writer_(&slots_),
      handler_({options_.poison_error_pages, options_.on_device_page,
                [this](uint64_t generation) {
                  if (fill_ != nullptr) fill_->OnStreamOpen();
                  ResendOn(generation);
                },
                [this] { Nudge(); },
                [this](const v1::FaultAnswer& answer) {
                  if (fill_ != nullptr) fill_->OnAnswer(answer);
                },
                [this](const PendingFault& fault,
                       const std::vector<uint64_t>& prefetched) {
                  OnPagesInstalled(fault, prefetched);
                },
                options_.before_revocation},
               &table_, &installer_, &slots_, &writer_, &stats_, &stop_),
      prefetch_window_(WindowOptions(options_)) {}

FaultEngine::~FaultEngine() { Stop(); }

void FaultEngine::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  // The fill asks through the stream writer: it ends first.
  if (fill_ != nullptr) fill_->Stop();
  // The transport first: a revocation on its stream thread may wait in
  // mremap for the reader to read the remap event.
  if (transport_ != nullptr) transport_->Shutdown();
  {
    absl::MutexLock lock(&mutex_);
    reader_exit_ = true;
  }
  Nudge();
  if (reader_.joinable()) reader_.join();
  if (options_.record != nullptr) {
    if (absl::Status written = options_.record->Write(); !written.ok()) {
      absl::FPrintF(stderr, "vmm: %s\n", written.ToString());
    }
  }
}

void FaultEngine::OnPagesInstalled(const PendingFault& fault,
                                   const std::vector<uint64_t>& prefetched) {
  const uint64_t page = fault.page.host_page / v1::wire::kPageBytes;
  uint64_t end = page + 1;
  for (uint64_t host_page : prefetched) {
    end = std::max(end, host_page / v1::wire::kPageBytes + 1);
  }
  prefetch_window_.OnAnswered(page, end);
  if (options_.record == nullptr) return;
  options_.record->Record(fault.page.region_id, fault.page.offset);
  const uint64_t region_base = fault.page.host_page - fault.page.offset;
  for (uint64_t host_page : prefetched) {
    options_.record->Record(fault.page.region_id, host_page - region_base);
  }
}

void FaultEngine::RegisterVcpuThread(uint32_t thread_id, uint32_t vcpu) {
  absl::MutexLock lock(&mutex_);
  vcpu_by_thread_[thread_id] = vcpu;
}

absl::Status FaultEngine::LoadPage(uint64_t guest_physical,
                                   const uint8_t* page) {
  return installer_.LoadPage(guest_physical, page);
}

void FaultEngine::Nudge() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void FaultEngine::ReaderLoop() {
  for (;;) {
    bool stopping;
    {
      absl::MutexLock lock(&mutex_);
      if (reader_exit_) return;
      stopping = stopping_;
    }
    const absl::Time now = absl::Now();
    absl::Duration timeout =
        std::clamp(table_.NextWakeup(now + kMaxPollInterval) - now,
                   absl::ZeroDuration(), kMaxPollInterval);
    // Slots waiting for a fault to ride on go alone after a short while.
    if (slots_.has_pending_releases()) {
      timeout = std::min(timeout, kReleaseFlushInterval);
    }
    absl::StatusOr<std::vector<UserFault>> faults =
        uffd_->ReadFaults(timeout, wake_fd_.get());
    if (!faults.ok()) {
      stop_.Stop(StopKind::kVmmError, std::string(faults.status().message()));
      return;
    }
    uint64_t drained;
    while (::read(wake_fd_.get(), &drained, sizeof(drained)) > 0) {
    }
    if (stopping) continue;  // only draining events until the transport ends
    for (const UserFault& fault : *faults) HandleUserFault(fault);
    writer_.FlushReleases();
    for (uint64_t id : table_.TakeDueRetries()) SendFault(id);
    CheckDeadlines();
  }
}

void FaultEngine::HandleUserFault(const UserFault& fault) {
  const HostPage page = memory_->FindHostPage(fault.address);
  if (page.region == nullptr) {
    absl::FPrintF(stderr,
                  "vmm: fault at host address %#x outside guest memory\n",
                  fault.address);
    return;
  }
  const RegionSpec& region = page.region->spec;
  NewFault asked;
  asked.region_id = region.id;
  asked.region_name = region.name;
  asked.offset = page.offset;
  asked.host_page = fault.address;
  asked.guest_physical = region.guest_physical_base + page.offset;
  asked.access = fault.write ? v1::ACCESS_KIND_WRITE : v1::ACCESS_KIND_READ;
  // Device pages are mapped one frame at a time.
  asked.prefetch_hint =
      region.kind == RegionKind::kRam
          ? prefetch_window_.HintFor(fault.address / v1::wire::kPageBytes)
          : 0;
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    auto vcpu = vcpu_by_thread_.find(fault.thread_id);
    if (vcpu != vcpu_by_thread_.end()) asked.vcpu = vcpu->second;
  }
  if (stop_.stopped()) return;
  std::optional<uint64_t> id = table_.Add(asked);
  if (!id.has_value()) {
    stats_.Count(FaultStats::Counter::kCoalesced);
    return;
  }
  stats_.Count(FaultStats::Counter::kFaults);
  SendFault(*id);
}

void FaultEngine::SendFault(uint64_t fault_id) {
  if (stop_.stopped()) return;
  std::optional<PendingFault> fault = table_.NextAttempt(fault_id);
  if (!fault.has_value()) return;
  v1::FaultStreamRequest request;
  *request.mutable_fault() = RequestFor(*fault);
  const uint64_t generation = writer_.Send(request);
  if (generation == 0) return;  // resent when the next stream opens
  table_.MarkSent(fault_id, generation);
}

void FaultEngine::ResendOn(uint64_t generation) {
  uint64_t resent = 0;
  const std::vector<uint64_t> unsent = table_.UnsentOn(generation, &resent);
  if (resent > 0) stats_.Count(FaultStats::Counter::kResent, resent);
  for (uint64_t id : unsent) SendFault(id);
}

void FaultEngine::CheckDeadlines() {
  if (stop_.stopped()) return;
  std::optional<PendingFault> fault = table_.PastDeadline();
  // Pages only a device model asked for give up alone (device_prepare.cc).
  while (fault.has_value() && !fault->page.vcpu_waiting) {
    GiveUpUnwatched(*fault);
    fault = table_.PastDeadline();
  }
  if (!fault.has_value()) return;
  StopKind kind = StopKind::kFaultDeadline;
  std::string reason = fault->last_reason;
  if (const BrokerTransport::Health health = transport_->health();
      !health.connected) {
    kind = StopKind::kBrokerUnreachable;
    reason = "broker unreachable: " + health.last_error;
  }
  stop_.Stop(kind,
             absl::StrFormat("fault deadline of %s exceeded for %s after %u "
                             "attempts; last reason: %s",
                             absl::FormatDuration(options_.retry.deadline),
                             DescribePage(*fault), fault->attempt, reason),
             &*fault);
}

}  // namespace faultline::vmm
