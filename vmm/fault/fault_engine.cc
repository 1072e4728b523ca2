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

namespace faultline::vmm {
namespace {

constexpr absl::Duration kMaxPollInterval = absl::Milliseconds(100);
constexpr absl::Duration kReleaseFlushInterval = absl::Milliseconds(1);

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
  ASSIGN_OR_RETURN(
      engine->transport_,
      BrokerTransport::Connect(engine->options_.transport, &engine->handler_,
                               &engine->writer_));
  engine->reader_ = std::thread([e = engine.get()] { e->ReaderLoop(); });
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
                [this](uint64_t generation) { ResendOn(generation); },
                [this] { Nudge(); }},
               &table_, &installer_, &slots_, &writer_, &stats_, &stop_) {}

FaultEngine::~FaultEngine() { Stop(); }

void FaultEngine::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  // The transport first: a revocation on its stream thread may wait in
  // mremap for the reader to read the remap event.
  if (transport_ != nullptr) transport_->Shutdown();
  {
    absl::MutexLock lock(&mutex_);
    reader_exit_ = true;
  }
  Nudge();
  if (reader_.joinable()) reader_.join();
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
      region.kind == RegionKind::kRam ? options_.prefetch_hint : 0;
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
  if (generation > 1) stats_.Count(FaultStats::Counter::kReconnects);
  uint64_t resent = 0;
  const std::vector<uint64_t> unsent = table_.UnsentOn(generation, &resent);
  if (resent > 0) stats_.Count(FaultStats::Counter::kResent, resent);
  for (uint64_t id : unsent) SendFault(id);
}

void FaultEngine::CheckDeadlines() {
  if (stop_.stopped()) return;
  const std::optional<PendingFault> fault = table_.PastDeadline();
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
