#include "vmm/fault/fault_engine.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {
namespace {

namespace wire = ::faultline::v1::wire;

constexpr absl::Duration kMaxPollInterval = absl::Milliseconds(100);
constexpr absl::Duration kReleaseFlushInterval = absl::Milliseconds(1);

void Log(const std::string& message) {
  std::fprintf(stderr, "vmm: %s\n", message.c_str());
}

AnswerInstaller::Target TargetOf(const PendingFault& fault) {
  return {fault.page.region_id, fault.page.offset, fault.page.host_page};
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
  ASSIGN_OR_RETURN(engine->transport_,
                   BrokerTransport::Connect(engine->options_.transport,
                                            engine.get(), &engine->slots_));
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
      on_stop_(std::move(on_stop)),
      table_(options_.retry, Clock::Real()),
      installer_(memory_, uffd_.get(), &slots_, &stats_) {}

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

bool FaultEngine::poisons_error_pages() const {
  return options_.poison_error_pages && installer_.can_poison();
}

void FaultEngine::Nudge() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

// --- The userfaultfd reader: asks -------------------------------------------

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
      Fail(StopKind::kVmmError, std::string(faults.status().message()));
      return;
    }
    uint64_t drained;
    while (::read(wake_fd_.get(), &drained, sizeof(drained)) > 0) {
    }
    if (stopping) continue;  // only draining events until the transport ends
    for (const UserFault& fault : *faults) HandleUserFault(fault);
    transport_->FlushReleases();
    for (uint64_t id : table_.TakeDueRetries()) SendFault(id);
    CheckDeadlines();
  }
}

void FaultEngine::HandleUserFault(const UserFault& fault) {
  const HostPage page = memory_->FindHostPage(fault.address);
  if (page.region == nullptr) {
    Log(absl::StrFormat("fault at host address %#x outside guest memory",
                        fault.address));
    return;
  }
  const RegionSpec& region = page.region->spec;
  NewFault asked;
  asked.region_id = region.id;
  asked.offset = page.offset;
  asked.host_page = fault.address;
  asked.guest_physical = region.guest_physical_base + page.offset;
  asked.access = fault.write ? v1::ACCESS_KIND_WRITE : v1::ACCESS_KIND_READ;
  // Device pages are mapped one frame at a time.
  asked.prefetch_hint =
      region.kind == RegionKind::kRam ? options_.prefetch_hint : 0;
  {
    absl::MutexLock lock(&mutex_);
    if (failed_ || stopping_) return;
    auto vcpu = vcpu_by_thread_.find(fault.thread_id);
    if (vcpu != vcpu_by_thread_.end()) asked.vcpu = vcpu->second;
  }
  std::optional<uint64_t> id = table_.Add(asked);
  if (!id.has_value()) {
    stats_.Count(FaultStats::Counter::kCoalesced);
    return;
  }
  stats_.Count(FaultStats::Counter::kFaults);
  SendFault(*id);
}

void FaultEngine::SendFault(uint64_t fault_id) {
  if (failed()) return;
  std::optional<PendingFault> fault = table_.NextAttempt(fault_id);
  if (!fault.has_value()) return;
  v1::FaultStreamRequest request;
  *request.mutable_fault() = RequestFor(*fault);
  const uint64_t generation = transport_->Send(request);
  if (generation == 0) return;  // resent when the next stream opens
  table_.MarkSent(fault_id, generation);
}

void FaultEngine::CheckDeadlines() {
  if (failed()) return;
  const std::optional<PendingFault> fault = table_.PastDeadline();
  if (!fault.has_value()) return;
  StopKind kind = StopKind::kFaultDeadline;
  std::string reason = fault->last_reason;
  if (const BrokerTransport::Health health = transport_->health();
      !health.connected) {
    kind = StopKind::kBrokerUnreachable;
    reason = "broker unreachable: " + health.last_error;
  }
  Fail(kind,
       absl::StrFormat("fault deadline of %s exceeded for %s after %u "
                       "attempts; last reason: %s",
                       absl::FormatDuration(options_.retry.deadline),
                       DescribePage(*fault), fault->attempt, reason),
       &*fault);
}

// --- The stream thread: answers --------------------------------------------

absl::Status FaultEngine::OnAttached(const v1::AttachResponse& response) {
  // The old session's slots are forgotten with its area.
  RETURN_IF_ERROR(
      slots_.UseArea(response.has_staging() ? &response.staging() : nullptr));
  installer_.UseGrants(response);
  return absl::OkStatus();
}

void FaultEngine::OnStreamOpen(uint64_t generation) {
  slots_.StreamOpened(generation);
  if (generation > 1) stats_.Count(FaultStats::Counter::kReconnects);
  uint64_t resent = 0;
  const std::vector<uint64_t> unsent = table_.UnsentOn(generation, &resent);
  if (resent > 0) stats_.Count(FaultStats::Counter::kResent, resent);
  for (uint64_t id : unsent) SendFault(id);
}

void FaultEngine::OnAnswer(const v1::FaultAnswer& answer) {
  const std::optional<PendingFault> fault = table_.Find(answer);
  if (!fault.has_value()) {
    stats_.Count(FaultStats::Counter::kStaleAnswers);
  } else if (!failed()) {
    ApplyAnswer(answer, *fault);
  }
  // Handled (installed, rejected, stale or retried): its slots go back.
  if (slots_.Release(answer)) transport_->FlushReleases(/*wait=*/false);
}

void FaultEngine::ApplyAnswer(const v1::FaultAnswer& answer,
                              const PendingFault& fault) {
  const std::optional<RegionRules> rules =
      installer_.Rules(fault.page.region_id);
  absl::StatusOr<AnswerAction> action = ValidateAnswer(
      answer, AskedFault{fault.id, fault.page.region_id, fault.page.offset},
      *rules, slots_);
  if (!action.ok()) {
    const std::string defect(action.status().message());
    stats_.Count(FaultStats::Counter::kRejectedAnswers);
    Log(defect);
    Retry(fault, absl::ZeroDuration(),
          absl::StrFormat("rejected answer (%s)", defect));
    return;
  }
  absl::Status applied;
  switch (*action) {
    case AnswerAction::kInstallPage:
    case AnswerAction::kInstallZero: {
      absl::StatusOr<std::vector<uint64_t>> prefetched =
          installer_.InstallPages(answer, TargetOf(fault));
      if (prefetched.ok()) table_.ResolvePages(*prefetched);
      applied = prefetched.status();
      break;
    }
    case AnswerAction::kMapFrame:
      applied = installer_.MapFrame(TargetOf(fault), answer.frame().frame());
      if (applied.ok()) {
        TellDevicePage({fault.page.region_id, fault.page.offset, true,
                        answer.frame().frame(), v1::RETRY_REASON_UNSPECIFIED});
      }
      break;
    case AnswerAction::kRetry: {
      const v1::RetryAnswer& retry = answer.retry();
      const v1::RetryReason reason = KnownRetryReason(retry.reason());
      if (Retry(fault, absl::Microseconds(retry.delay_hint_us()),
                DescribeRetry(retry))) {
        stats_.CountRetry(reason);
        if (rules->device) {
          TellDevicePage(
              {fault.page.region_id, fault.page.offset, false, 0, reason});
        }
      }
      return;
    }
    case AnswerAction::kFail:
      ApplyError(answer, fault);
      return;
  }
  if (!applied.ok()) {
    Fail(StopKind::kVmmError,
         absl::StrFormat("applying the answer for %s: %s", DescribePage(fault),
                         applied.message()),
         &fault);
    return;
  }
  Resolve(fault.id);
}

void FaultEngine::ApplyError(const v1::FaultAnswer& answer,
                             const PendingFault& fault) {
  stats_.Count(FaultStats::Counter::kErrors);
  const v1::ErrorAnswer& error = answer.error();
  const std::string what = absl::StrFormat(
      "broker answered error (%s: %s) for %s", ErrorKindName(error.kind()),
      error.message(), DescribePage(fault));
  if (!poisons_error_pages()) {
    Fail(StopKind::kBrokerErrorAnswer, what, &fault);
    return;
  }
  absl::StatusOr<bool> poisoned = installer_.Poison(TargetOf(fault));
  if (!poisoned.ok()) {
    Fail(StopKind::kVmmError,
         absl::StrFormat("poisoning after %s: %s", what,
                         poisoned.status().message()),
         &fault);
    return;
  }
  if (*poisoned) {
    stats_.RecordPoisonedPage(
        {fault.page.guest_physical, error.kind(), error.message()});
    Log(what + ": page poisoned, the guest gets a machine check on access");
  }
  Resolve(fault.id);
}

void FaultEngine::OnRevocation(const v1::FrameRevocation& revocation) {
  const std::optional<RegionRules> rules =
      installer_.Rules(revocation.region_id());
  if (absl::Status valid =
          ValidateRevocation(revocation, rules ? &*rules : nullptr);
      !valid.ok()) {
    stats_.Count(FaultStats::Counter::kRejectedAnswers);
    Log(std::string(valid.message()));
    return;
  }
  // On the stream thread: the reader thread reads the remap event.
  if (absl::Status replaced =
          installer_.Revoke(revocation.region_id(), revocation.offset());
      !replaced.ok()) {
    Fail(StopKind::kVmmError, replaced.ToString());
    return;
  }
  stats_.Count(FaultStats::Counter::kRevocations);
  v1::FaultStreamRequest done;
  done.mutable_revocation_done()->set_revocation_id(revocation.revocation_id());
  transport_->Send(done);
  TellDevicePage({revocation.region_id(), revocation.offset(), false, 0,
                  v1::RETRY_REASON_UNSPECIFIED});
}

// --- Either thread -----------------------------------------------------------

bool FaultEngine::Retry(const PendingFault& fault, absl::Duration hint,
                        const std::string& reason) {
  const std::optional<FaultTable::RetryOutcome> outcome =
      table_.ScheduleRetry(fault.id, hint, reason);
  if (!outcome.has_value()) return false;
  if (!outcome->scheduled) {
    Fail(StopKind::kFaultDeadline,
         absl::StrFormat("%s for %s after %u attempts; last reason: %s",
                         outcome->why, DescribePage(outcome->fault),
                         outcome->fault.attempt, outcome->fault.last_reason),
         &fault);
    return false;
  }
  Nudge();
  return true;
}

void FaultEngine::Resolve(uint64_t fault_id) {
  if (std::optional<absl::Duration> latency = table_.Resolve(fault_id)) {
    stats_.RecordLatency(*latency);
  }
}

void FaultEngine::Fail(StopKind kind, const std::string& message,
                       const PendingFault* fault) {
  {
    absl::MutexLock lock(&mutex_);
    if (failed_) return;
    failed_ = true;
  }
  Log(message);
  StopReason reason{kind, 0, message, std::nullopt};
  if (fault != nullptr) reason.page = fault->page.guest_physical;
  if (on_stop_) on_stop_(reason);
}

void FaultEngine::TellDevicePage(const DevicePageEvent& event) {
  if (options_.on_device_page) options_.on_device_page(event);
}

bool FaultEngine::failed() const {
  absl::MutexLock lock(&mutex_);
  return failed_;
}

std::string FaultEngine::DescribePage(const PendingFault& fault) const {
  const MappedRegion* region = memory_->FindRegion(fault.page.region_id);
  const std::string vcpu = fault.page.vcpu == kUnknownVcpu
                               ? std::string("unknown vCPU")
                               : absl::StrFormat("vCPU %u", fault.page.vcpu);
  return absl::StrFormat(
      "guest-physical page %#x (region '%s' id %u offset %#x, %s)",
      fault.page.guest_physical, region->spec.name, fault.page.region_id,
      fault.page.offset, vcpu);
}

}  // namespace faultline::vmm
