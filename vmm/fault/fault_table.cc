#include "vmm/fault/fault_table.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace faultline::vmm {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

const Clock* Clock::Real() {
  static const RealClock* const clock = new RealClock();
  return clock;
}

v1::FaultRequest RequestFor(const PendingFault& fault) {
  v1::FaultRequest request;
  request.set_fault_id(fault.id);
  request.set_region_id(fault.page.region_id);
  request.set_offset(fault.page.offset);
  request.set_access(fault.page.access);
  request.set_vcpu(fault.page.vcpu);
  request.set_attempt(fault.attempt);
  request.set_prefetch_hint(fault.page.prefetch_hint);
  return request;
}

std::string DescribePage(const PendingFault& fault) {
  const NewFault& page = fault.page;
  const std::string vcpu = page.vcpu == kUnknownVcpu
                               ? std::string("unknown vCPU")
                               : absl::StrFormat("vCPU %u", page.vcpu);
  return absl::StrFormat(
      "guest-physical page %#x (region '%s' id %u offset %#x, %s)",
      page.guest_physical, page.region_name, page.region_id, page.offset, vcpu);
}

std::optional<uint64_t> FaultTable::Add(const NewFault& fault) {
  absl::MutexLock lock(&mutex_);
  if (by_page_.contains(fault.host_page)) return std::nullopt;
  const uint64_t id = next_id_++;
  PendingFault& pending = faults_[id];
  pending.id = id;
  pending.page = fault;
  pending.first_asked = clock_->Now();
  by_page_[fault.host_page] = id;
  return id;
}

std::optional<PendingFault> FaultTable::NextAttempt(uint64_t id) {
  absl::MutexLock lock(&mutex_);
  auto it = faults_.find(id);
  if (it == faults_.end()) return std::nullopt;
  ++it->second.attempt;
  return it->second;
}

void FaultTable::MarkSent(uint64_t id, uint64_t generation) {
  absl::MutexLock lock(&mutex_);
  auto it = faults_.find(id);
  if (it != faults_.end()) it->second.sent_generation = generation;
}

std::optional<PendingFault> FaultTable::Find(
    const v1::FaultAnswer& answer) const {
  absl::MutexLock lock(&mutex_);
  auto it = faults_.find(answer.fault_id());
  if (it == faults_.end() || (it->second.waiting_retry && answer.has_retry())) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<FaultTable::RetryOutcome> FaultTable::ScheduleRetry(
    uint64_t id, absl::Duration hint, const std::string& reason) {
  absl::MutexLock lock(&mutex_);
  auto it = faults_.find(id);
  if (it == faults_.end()) return std::nullopt;
  PendingFault& fault = it->second;
  fault.last_reason = reason;
  const RetryPlan plan =
      PlanRetry(retry_, fault.retries, hint, fault.first_asked, clock_->Now());
  RetryOutcome outcome;
  if (plan.give_up) {
    outcome.why = plan.why;
  } else {
    ++fault.retries;
    fault.waiting_retry = true;
    fault.retry_at = plan.ask_at;
    outcome.scheduled = true;
  }
  outcome.fault = fault;
  return outcome;
}

std::vector<uint64_t> FaultTable::TakeDueRetries() {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = clock_->Now();
  std::vector<uint64_t> due;
  for (auto& [id, fault] : faults_) {
    if (fault.waiting_retry && fault.retry_at <= now) {
      fault.waiting_retry = false;
      due.push_back(id);
    }
  }
  return due;
}

std::vector<uint64_t> FaultTable::UnsentOn(uint64_t generation,
                                           uint64_t* resent) const {
  absl::MutexLock lock(&mutex_);
  std::vector<uint64_t> unsent;
  *resent = 0;
  for (const auto& [id, fault] : faults_) {
    if (fault.waiting_retry || fault.sent_generation == generation) continue;
    if (fault.sent_generation != 0) ++*resent;
    unsent.push_back(id);
  }
  return unsent;
}

std::optional<PendingFault> FaultTable::PastDeadline() const {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = clock_->Now();
  for (const auto& [id, fault] : faults_) {
    if (vmm::PastDeadline(retry_, fault.first_asked, now)) return fault;
  }
  return std::nullopt;
}

absl::Time FaultTable::NextWakeup(absl::Time latest) const {
  absl::MutexLock lock(&mutex_);
  absl::Time next = latest;
  for (const auto& [id, fault] : faults_) {
    if (fault.waiting_retry) next = std::min(next, fault.retry_at);
  }
  return next;
}

std::optional<absl::Duration> FaultTable::Resolve(uint64_t id) {
  absl::MutexLock lock(&mutex_);
  auto it = faults_.find(id);
  if (it == faults_.end()) return std::nullopt;
  const absl::Duration latency = clock_->Now() - it->second.first_asked;
  by_page_.erase(it->second.page.host_page);
  faults_.erase(it);
  return latency;
}

void FaultTable::ResolvePages(const std::vector<uint64_t>& host_pages) {
  absl::MutexLock lock(&mutex_);
  for (uint64_t page : host_pages) {
    auto by_page = by_page_.find(page);
    if (by_page == by_page_.end()) continue;
    faults_.erase(by_page->second);
    by_page_.erase(by_page);
  }
}

size_t FaultTable::size() const {
  absl::MutexLock lock(&mutex_);
  return faults_.size();
}

}  // namespace faultline::vmm
