// Recorders standing in for KVM's MSI delivery, KVM_IRQ_LINE and the fault
// path, for the device tests.
//
// Threading: safe from any thread.
#ifndef FAULTLINE_VMM_DEVICES_DEVICE_FAKES_H_
#define FAULTLINE_VMM_DEVICES_DEVICE_FAKES_H_

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "vmm/devices/irq_line.h"
#include "vmm/devices/pci_msi.h"
#include "vmm/devices/window_pages.h"

namespace faultline::vmm {

class RecordingMsiSink : public MsiSink {
 public:
  absl::Status SignalMsi(uint64_t address, uint32_t data) override {
    absl::MutexLock lock(&mutex_);
    messages_.emplace_back(address, data);
    return fail_ ? absl::InvalidArgumentError("refused") : absl::OkStatus();
  }
  std::vector<std::pair<uint64_t, uint32_t>> messages() const {
    absl::MutexLock lock(&mutex_);
    return messages_;
  }
  size_t count() const {
    absl::MutexLock lock(&mutex_);
    return messages_.size();
  }
  void set_fail(bool fail) {
    absl::MutexLock lock(&mutex_);
    fail_ = fail;
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<std::pair<uint64_t, uint32_t>> messages_ ABSL_GUARDED_BY(mutex_);
  bool fail_ ABSL_GUARDED_BY(mutex_) = false;
};

class RecordingRequests : public WindowPageRequests {
 public:
  void PreparePage(uint64_t page) override {
    absl::MutexLock lock(&mutex_);
    prepared_.push_back(page);
  }
  void RevocationAcknowledged(uint64_t page) override {
    absl::MutexLock lock(&mutex_);
    acknowledged_.push_back(page);
  }
  std::vector<uint64_t> prepared() const {
    absl::MutexLock lock(&mutex_);
    return prepared_;
  }
  std::vector<uint64_t> acknowledged() const {
    absl::MutexLock lock(&mutex_);
    return acknowledged_;
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<uint64_t> prepared_ ABSL_GUARDED_BY(mutex_);
  std::vector<uint64_t> acknowledged_ ABSL_GUARDED_BY(mutex_);
};

// Every level each GSI was set to.
class FakeIrqSink : public IrqSink {
 public:
  void SetIrqLevel(uint32_t gsi, bool level) override {
    absl::MutexLock lock(&mutex_);
    changes_[gsi].push_back(level);
  }
  // Every level the GSI was set to, in order.
  std::vector<bool> Changes(uint32_t gsi) {
    absl::MutexLock lock(&mutex_);
    return changes_[gsi];
  }
  // Rising edges so far.
  int Edges(uint32_t gsi) {
    int edges = 0;
    for (bool level : Changes(gsi)) edges += level ? 1 : 0;
    return edges;
  }
  bool Level(uint32_t gsi) {
    const std::vector<bool> changes = Changes(gsi);
    return !changes.empty() && changes.back();
  }

 private:
  absl::Mutex mutex_;
  std::map<uint32_t, std::vector<bool>> changes_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_DEVICES_DEVICE_FAKES_H_
