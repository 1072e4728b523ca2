#include "vmm/devices/pcimem_fault_bridge.h"

#include <utility>

#include "proto/guest_abi.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

uint64_t PageOf(uint64_t offset) { return offset / abi::kPageBytes; }

}  // namespace

uint8_t PciMemRetryReason(v1::RetryReason reason) {
  switch (reason) {
    case v1::RETRY_REASON_INTERRUPTED:
      return abi::kPciMemReasonInterrupted;
    case v1::RETRY_REASON_NOT_YET_AVAILABLE:
      return abi::kPciMemReasonNotYetAvailable;
    case v1::RETRY_REASON_OVER_QUOTA:
      return abi::kPciMemReasonOverQuota;
    case v1::RETRY_REASON_STORE_UNAVAILABLE:
      return abi::kPciMemReasonStoreUnavailable;
    default:  // unknown reasons are BUSY (broker.proto)
      return abi::kPciMemReasonBusy;
  }
}

uint8_t PciMemErrorReason(v1::ErrorKind kind) {
  switch (kind) {
    case v1::ERROR_KIND_OUT_OF_MEMORY:
      return abi::kPciMemReasonOutOfMemory;
    case v1::ERROR_KIND_DENIED:
      return abi::kPciMemReasonDenied;
    default:  // unknown kinds are BUS_ERROR (broker.proto)
      return abi::kPciMemReasonBusError;
  }
}

PciMemFaultBridge::PciMemFaultBridge(absl::Duration ack_deadline)
    : ack_deadline_(ack_deadline) {}

void PciMemFaultBridge::Connect(WindowPageEvents* device,
                                PrepareCallback prepare) {
  absl::MutexLock lock(&mutex_);
  device_ = device;
  prepare_ = std::move(prepare);
}

void PciMemFaultBridge::FrameMapped(uint64_t offset) {
  WindowPageEvents* device;
  {
    absl::MutexLock lock(&mutex_);
    device = device_;
  }
  if (device != nullptr) device->PageAvailable(PageOf(offset));
}

void PciMemFaultBridge::RetryAnswered(uint64_t offset, v1::RetryReason reason) {
  WindowPageEvents* device;
  {
    absl::MutexLock lock(&mutex_);
    device = device_;
  }
  if (device != nullptr) {
    device->PagePending(PageOf(offset), PciMemRetryReason(reason));
  }
}

void PciMemFaultBridge::ErrorAnswered(uint64_t offset, v1::ErrorKind kind) {
  WindowPageEvents* device;
  {
    absl::MutexLock lock(&mutex_);
    device = device_;
  }
  if (device != nullptr) {
    device->PageError(PageOf(offset), PciMemErrorReason(kind));
  }
}

void PciMemFaultBridge::GaveUp(uint64_t offset) {
  WindowPageEvents* device;
  {
    absl::MutexLock lock(&mutex_);
    device = device_;
  }
  if (device != nullptr) {
    device->PageError(PageOf(offset), abi::kPciMemReasonTimedOut);
  }
}

void PciMemFaultBridge::LetGo(uint64_t offset) {
  const uint64_t page = PageOf(offset);
  WindowPageEvents* device;
  {
    absl::MutexLock lock(&mutex_);
    device = device_;
    if (device == nullptr) return;
    // Marked before asking: the acknowledgement may come at once.
    waiting_.insert(page);
  }
  const bool wait = device->BeginRevocation(page);
  absl::MutexLock lock(&mutex_);
  if (!wait) {
    waiting_.erase(page);
    return;
  }
  auto let_go = [this, page]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !waiting_.contains(page);
  };
  if (mutex_.AwaitWithTimeout(absl::Condition(&let_go), ack_deadline_)) {
    ++counts_.acknowledged;
  } else {
    waiting_.erase(page);
    ++counts_.ack_timeouts;
  }
}

void PciMemFaultBridge::Revoked(uint64_t offset) {
  WindowPageEvents* device;
  {
    absl::MutexLock lock(&mutex_);
    device = device_;
  }
  if (device != nullptr) device->PageRevoked(PageOf(offset));
}

void PciMemFaultBridge::PreparePage(uint64_t page) {
  PrepareCallback prepare;
  WindowPageEvents* device;
  {
    absl::MutexLock lock(&mutex_);
    ++counts_.prepares;
    prepare = prepare_;
    device = device_;
  }
  const bool asked = prepare && prepare(page * abi::kPageBytes).ok();
  if (!asked && device != nullptr) {
    device->PageError(page, abi::kPciMemReasonHostFailure);
  }
}

void PciMemFaultBridge::RevocationAcknowledged(uint64_t page) {
  absl::MutexLock lock(&mutex_);
  waiting_.erase(page);
}

PciMemFaultBridge::Counts PciMemFaultBridge::counts() const {
  absl::MutexLock lock(&mutex_);
  return counts_;
}

}  // namespace faultline::vmm
