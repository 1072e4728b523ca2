#include "vmm/fault/fault_engine.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::vmm {
namespace {

constexpr absl::Duration kMaxPollInterval = absl::Milliseconds(100);
constexpr absl::Duration kReleaseFlushInterval = absl::Milliseconds(1);
constexpr uint32_t kUnknownVcpu = 0xFFFFFFFF;

void Log(const std::string& message) {
  std::fprintf(stderr, "vmm: %s\n", message.c_str());
}

}  // namespace

absl::StatusOr<std::unique_ptr<FaultEngine>> FaultEngine::Create(
    const GuestMemory* memory, Options options, FatalCallback on_fatal) {
  for (const v1::Region& region : options.transport.regions) {
    const MappedRegion* mapped = memory->FindRegion(region.region_id());
    if (mapped == nullptr ||
        mapped->spec.guest_physical_base != region.guest_physical_base() ||
        mapped->spec.size_bytes != region.size_bytes()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("region %u '%s' does not match guest memory",
                          region.region_id(), region.name()));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Userfaultfd> uffd, Userfaultfd::Create());
  for (const MappedRegion& region : memory->regions()) {
    RETURN_IF_ERROR(uffd->Register(region.host_base(), region.spec.size_bytes));
  }
  UniqueFd wake_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd.valid()) return ErrnoError("eventfd");
  std::unique_ptr<FaultEngine> engine(
      new FaultEngine(memory, std::move(options), std::move(uffd),
                      std::move(wake_fd), std::move(on_fatal)));
  ASSIGN_OR_RETURN(
      engine->transport_,
      BrokerTransport::Connect(engine->options_.transport, engine.get()));
  engine->reader_ = std::thread([e = engine.get()] { e->ReaderLoop(); });
  return engine;
}

FaultEngine::FaultEngine(const GuestMemory* memory, Options options,
                         std::unique_ptr<Userfaultfd> uffd, UniqueFd wake_fd,
                         FatalCallback on_fatal)
    : memory_(memory),
      options_(std::move(options)),
      uffd_(std::move(uffd)),
      wake_fd_(std::move(wake_fd)),
      on_fatal_(std::move(on_fatal)) {
  for (const v1::Region& region : options_.transport.regions) {
    const MappedRegion* mapped = memory_->FindRegion(region.region_id());
    RegionRules rules;
    rules.region_id = region.region_id();
    rules.device = region.kind() == v1::REGION_KIND_DEVICE_MEMORY;
    rules.size_bytes = region.size_bytes();
    regions_[region.region_id()] = Region{mapped, rules};
  }
}

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

size_t FaultEngine::faults_in_flight() const {
  absl::MutexLock lock(&mutex_);
  return in_flight_.size();
}

void FaultEngine::RegisterVcpuThread(uint32_t thread_id, uint32_t vcpu) {
  absl::MutexLock lock(&mutex_);
  vcpu_by_thread_[thread_id] = vcpu;
}

absl::Status FaultEngine::LoadPage(uint64_t guest_physical,
                                   const uint8_t* page) {
  ASSIGN_OR_RETURN(uint8_t * host,
                   memory_->HostAddress(guest_physical, kFaultPageBytes));
  const auto address = reinterpret_cast<uint64_t>(host);
  absl::Status status = page != nullptr
                            ? uffd_->Copy(address, page, kFaultPageBytes, true)
                            : uffd_->ZeroPage(address, kFaultPageBytes, true);
  if (!status.ok()) return status;
  stats_.Count(FaultStats::Counter::kLoadedPages);
  return absl::OkStatus();
}

void FaultEngine::Nudge() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

// --- The userfaultfd side --------------------------------------------------

void FaultEngine::ReaderLoop() {
  for (;;) {
    absl::Duration timeout;
    bool stopping;
    {
      absl::MutexLock lock(&mutex_);
      if (reader_exit_) return;
      stopping = stopping_;
      timeout = std::clamp(NextWakeup() - absl::Now(), absl::ZeroDuration(),
                           kMaxPollInterval);
    }
    // Slots waiting for a fault to ride on go alone after a short while.
    if (transport_->has_pending_releases()) {
      timeout = std::min(timeout, kReleaseFlushInterval);
    }
    absl::StatusOr<std::vector<UserFault>> faults =
        uffd_->ReadFaults(timeout, wake_fd_.get());
    if (!faults.ok()) {
      Fail(FatalKind::kInternal, std::string(faults.status().message()));
      return;
    }
    uint64_t drained;
    while (::read(wake_fd_.get(), &drained, sizeof(drained)) > 0) {
    }
    if (stopping) continue;  // only draining events until the transport ends
    for (const UserFault& fault : *faults) HandleUserFault(fault);
    transport_->FlushReleases();
    SendDueRetries();
    CheckDeadlines();
  }
}

absl::Time FaultEngine::NextWakeup() const {
  absl::Time next = absl::Now() + kMaxPollInterval;
  for (const auto& [id, fault] : in_flight_) {
    if (fault.waiting_retry) next = std::min(next, fault.retry_at);
  }
  return next;
}

void FaultEngine::HandleUserFault(const UserFault& fault) {
  const HostPage page = memory_->FindHostPage(fault.address);
  if (page.region == nullptr || regions_.count(page.region->spec.id) == 0) {
    Log(absl::StrFormat("fault at host address %#x outside guest memory",
                        fault.address));
    return;
  }
  uint64_t id;
  {
    absl::MutexLock lock(&mutex_);
    if (failed_ || stopping_) return;
    if (auto asked = fault_by_page_.find(fault.address);
        asked != fault_by_page_.end()) {
      // Maybe a page asked for by PREPARE: now a vCPU waits for it too.
      PendingFault& pending = in_flight_[asked->second];
      pending.vcpu_waiting = true;
      auto vcpu = vcpu_by_thread_.find(fault.thread_id);
      if (vcpu != vcpu_by_thread_.end()) pending.vcpu = vcpu->second;
      stats_.Count(FaultStats::Counter::kCoalesced);
      return;
    }
    id = next_fault_id_++;
    PendingFault& pending = in_flight_[id];
    pending.id = id;
    pending.region_id = page.region->spec.id;
    pending.offset = page.offset;
    pending.host_page = fault.address;
    pending.access = fault.write ? v1::ACCESS_KIND_WRITE : v1::ACCESS_KIND_READ;
    auto vcpu = vcpu_by_thread_.find(fault.thread_id);
    pending.vcpu = vcpu == vcpu_by_thread_.end() ? kUnknownVcpu : vcpu->second;
    pending.first_asked = absl::Now();
    fault_by_page_[fault.address] = id;
  }
  stats_.Count(FaultStats::Counter::kFaults);
  SendFault(id);
}

void FaultEngine::SendFault(uint64_t fault_id) {
  v1::FaultStreamRequest request;
  {
    absl::MutexLock lock(&mutex_);
    auto it = in_flight_.find(fault_id);
    if (it == in_flight_.end() || failed_) return;
    PendingFault& fault = it->second;
    ++fault.attempt;
    v1::FaultRequest* ask = request.mutable_fault();
    ask->set_fault_id(fault.id);
    ask->set_region_id(fault.region_id);
    ask->set_offset(fault.offset);
    ask->set_access(fault.access);
    ask->set_vcpu(fault.vcpu);
    ask->set_attempt(fault.attempt);
    const Region& region = regions_.at(fault.region_id);
    ask->set_prefetch_hint(region.rules.device ? 0 : options_.prefetch_hint);
  }
  const uint64_t generation = transport_->Send(request);
  if (generation == 0) return;  // resent when the next stream opens
  absl::MutexLock lock(&mutex_);
  auto it = in_flight_.find(fault_id);
  if (it != in_flight_.end()) it->second.sent_generation = generation;
}

void FaultEngine::SendDueRetries() {
  std::vector<uint64_t> due;
  {
    absl::MutexLock lock(&mutex_);
    const absl::Time now = absl::Now();
    for (auto& [id, fault] : in_flight_) {
      if (fault.waiting_retry && fault.retry_at <= now) {
        fault.waiting_retry = false;
        due.push_back(id);
      }
    }
  }
  for (uint64_t id : due) SendFault(id);
}

void FaultEngine::CheckDeadlines() {
  std::string message;
  FatalKind kind = FatalKind::kFaultDeadline;
  std::vector<uint64_t> unwatched;
  {
    absl::MutexLock lock(&mutex_);
    if (failed_) return;
    const absl::Time now = absl::Now();
    for (const auto& [id, fault] : in_flight_) {
      if (!PastDeadline(options_.retry, fault.first_asked, now)) continue;
      if (!fault.vcpu_waiting) {
        unwatched.push_back(id);
        continue;
      }
      std::string reason = fault.last_reason;
      if (!connected_) {
        kind = FatalKind::kBrokerUnreachable;
        reason = "broker unreachable: " + transport_error_;
      }
      message = absl::StrFormat(
          "fault deadline of %s exceeded for %s after %u attempts; last "
          "reason: %s",
          absl::FormatDuration(options_.retry.deadline), DescribePage(fault),
          fault.attempt, reason);
      break;
    }
  }
  for (uint64_t id : unwatched) {
    GiveUpUnwatched(
        id, absl::StrFormat("fault deadline of %s exceeded",
                            absl::FormatDuration(options_.retry.deadline)));
  }
  if (!message.empty()) Fail(kind, message);
}

// --- The broker side --------------------------------------------------------

void FaultEngine::OnAttached(const v1::AttachResponse& response,
                             std::shared_ptr<const StagingMapping> staging) {
  absl::MutexLock lock(&files_mutex_);
  // The old session's slots are forgotten; its mapping goes with the last
  // answer that still uses it.
  staging_ = std::move(staging);
  for (const v1::RegionGrant& grant : response.regions()) {
    auto region = regions_.find(grant.region_id());
    if (region == regions_.end() || !region->second.rules.device) continue;
    const int fd =
        ::open(grant.device_memory_path().c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      // Frame answers for this region will be refused as outside the device.
      Log(absl::StrFormat("cannot open device memory %s for region %u: %s",
                          grant.device_memory_path(), grant.region_id(),
                          ErrnoError("open").message()));
      device_files_.erase(grant.region_id());
      continue;
    }
    device_files_[grant.region_id()] =
        DeviceFile{std::make_shared<UniqueFd>(fd), grant.device_frame_count()};
  }
}

void FaultEngine::OnStreamOpen(uint64_t generation) {
  std::vector<uint64_t> resend;
  {
    absl::MutexLock lock(&mutex_);
    if (ever_connected_) stats_.Count(FaultStats::Counter::kReconnects);
    ever_connected_ = true;
    connected_ = true;
    for (const auto& [id, fault] : in_flight_) {
      if (!fault.waiting_retry && fault.sent_generation != generation) {
        if (fault.sent_generation != 0) {
          stats_.Count(FaultStats::Counter::kResent);
        }
        resend.push_back(id);
      }
    }
  }
  for (uint64_t id : resend) SendFault(id);
}

void FaultEngine::OnDisconnected(const absl::Status& why) {
  absl::MutexLock lock(&mutex_);
  if (connected_) Log("broker stream lost, reconnecting: " + why.ToString());
  connected_ = false;
  transport_error_ = why.ToString();
}

void FaultEngine::OnAnswer(const v1::FaultAnswer& answer) {
  PendingFault fault;
  {
    absl::MutexLock lock(&mutex_);
    auto it = in_flight_.find(answer.fault_id());
    // Unknown ids: answers to resends of faults already resolved.
    if (it == in_flight_.end() ||
        (it->second.waiting_retry && answer.has_retry())) {
      stats_.Count(FaultStats::Counter::kStaleAnswers);
      return;
    }
    if (failed_) return;
    fault = it->second;
  }
  RegionRules rules = regions_.at(fault.region_id).rules;
  std::shared_ptr<const StagingMapping> staging;
  {
    absl::MutexLock lock(&files_mutex_);
    staging = staging_;
    if (staging != nullptr) rules.staging_slot_count = staging->slot_count();
    auto file = device_files_.find(fault.region_id);
    if (rules.device && file != device_files_.end()) {
      rules.frame_count = file->second.frame_count;
    }
  }
  absl::StatusOr<AnswerAction> action = ValidateAnswer(
      answer, AskedFault{fault.id, fault.region_id, fault.offset}, rules);
  if (!action.ok()) {
    stats_.Count(FaultStats::Counter::kRejectedAnswers);
    Log(std::string(action.status().message()));
    ScheduleRetry(fault.id, absl::ZeroDuration(), "rejected answer",
                  std::string(action.status().message()));
    return;
  }
  absl::Status applied;
  switch (*action) {
    case AnswerAction::kInstallPage:
    case AnswerAction::kInstallZero:
      applied = InstallPageOrZero(
          answer, fault, *action == AnswerAction::kInstallZero, staging.get());
      break;
    case AnswerAction::kMapFrame:
      applied = MapFrame(fault, answer.frame().frame());
      if (applied.ok()) {
        DevicePageEvent event;
        event.kind = DevicePageEvent::Kind::kAvailable;
        event.frame = answer.frame().frame();
        TellDevice(fault, event);
      }
      break;
    case AnswerAction::kRetry:
      if (rules.device) {
        DevicePageEvent event;
        event.kind = DevicePageEvent::Kind::kPending;
        event.retry_reason = answer.retry().reason();
        TellDevice(fault, event);
      }
      ScheduleRetry(
          fault.id, absl::Microseconds(answer.retry().delay_hint_us()),
          RetryReasonName(answer.retry().reason()), answer.retry().detail());
      return;
    case AnswerAction::kFail:
      ApplyError(answer, fault);
      return;
  }
  if (!applied.ok()) {
    Fail(FatalKind::kInternal,
         absl::StrFormat("applying the answer for %s: %s", DescribePage(fault),
                         applied.message()));
    return;
  }
  Resolve(fault.id);
}

void FaultEngine::OnRevocation(const v1::FrameRevocation& revocation) {
  auto region = regions_.find(revocation.region_id());
  if (region == regions_.end() || !region->second.rules.device ||
      revocation.offset() % kFaultPageBytes != 0 ||
      revocation.offset() >= region->second.rules.size_bytes) {
    stats_.Count(FaultStats::Counter::kRejectedAnswers);
    Log(
        absl::StrFormat("revocation %u rejected: region %u offset %#x is not "
                        "a device page",
                        revocation.revocation_id(), revocation.region_id(),
                        revocation.offset()));
    return;
  }
  if (options_.before_revocation) {
    options_.before_revocation(revocation.region_id(), revocation.offset());
  }
  uint8_t* page = region->second.mapped->host_base() + revocation.offset();
  // A fresh placeholder replaces the frame; the next touch faults again.
  // On the stream thread: the reader thread reads the remap event.
  if (absl::Status replaced = uffd_->ReplaceWithPlaceholder(
          reinterpret_cast<uint64_t>(page), kFaultPageBytes);
      !replaced.ok()) {
    Fail(FatalKind::kInternal, replaced.ToString());
    return;
  }
  stats_.Count(FaultStats::Counter::kRevocations);
  v1::FaultStreamRequest done;
  done.mutable_revocation_done()->set_revocation_id(revocation.revocation_id());
  transport_->Send(done);
  PendingFault revoked;
  revoked.region_id = revocation.region_id();
  revoked.offset = revocation.offset();
  DevicePageEvent event;
  event.kind = DevicePageEvent::Kind::kRevoked;
  TellDevice(revoked, event);
}

void FaultEngine::ScheduleRetry(uint64_t fault_id, absl::Duration hint,
                                const std::string& reason,
                                const std::string& detail) {
  std::string give_up;
  bool unwatched = false;
  {
    absl::MutexLock lock(&mutex_);
    auto it = in_flight_.find(fault_id);
    if (it == in_flight_.end()) return;
    PendingFault& fault = it->second;
    unwatched = !fault.vcpu_waiting;
    fault.last_reason =
        detail.empty() ? reason : absl::StrFormat("%s (%s)", reason, detail);
    const RetryPlan plan = PlanRetry(options_.retry, fault.retries, hint,
                                     fault.first_asked, absl::Now());
    if (plan.give_up) {
      give_up = absl::StrFormat("%s for %s after %u attempts; last reason: %s",
                                plan.why, DescribePage(fault), fault.attempt,
                                fault.last_reason);
    } else {
      ++fault.retries;
      fault.waiting_retry = true;
      fault.retry_at = plan.ask_at;
    }
  }
  if (!give_up.empty()) {
    if (unwatched) {
      GiveUpUnwatched(fault_id, give_up);
    } else {
      Fail(FatalKind::kFaultDeadline, give_up);
    }
    return;
  }
  stats_.CountRetry(reason);
  Nudge();
}

void FaultEngine::Resolve(uint64_t fault_id) {
  absl::MutexLock lock(&mutex_);
  auto it = in_flight_.find(fault_id);
  if (it == in_flight_.end()) return;
  stats_.RecordLatency(absl::Now() - it->second.first_asked);
  fault_by_page_.erase(it->second.host_page);
  in_flight_.erase(it);
}

void FaultEngine::Fail(FatalKind kind, const std::string& message) {
  {
    absl::MutexLock lock(&mutex_);
    if (failed_) return;
    failed_ = true;
  }
  Log(message);
  if (on_fatal_) on_fatal_(FatalFault{kind, message});
}

std::string FaultEngine::DescribePage(const PendingFault& fault) const {
  const MappedRegion* region = regions_.at(fault.region_id).mapped;
  std::string vcpu = fault.vcpu == kUnknownVcpu
                         ? std::string("unknown vCPU")
                         : absl::StrFormat("vCPU %u", fault.vcpu);
  return absl::StrFormat(
      "guest-physical page %#x (region '%s' id %u offset %#x, %s)",
      region->spec.guest_physical_base + fault.offset, region->spec.name,
      fault.region_id, fault.offset, vcpu);
}

}  // namespace faultline::vmm
