// An IrqSink for tests: records every level change per GSI.
#ifndef FAULTLINE_VMM_DEVICES_FAKE_IRQ_SINK_H_
#define FAULTLINE_VMM_DEVICES_FAKE_IRQ_SINK_H_

#include <map>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "vmm/devices/irq_line.h"

namespace faultline::vmm {

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

#endif  // FAULTLINE_VMM_DEVICES_FAKE_IRQ_SINK_H_
