// The run state of one VM, shared by its vCPU threads, the fault engine and
// the control socket: running, paused, or stopping with a reason. Stopping
// is final and the first reason wins. Pausing and stopping kick every vCPU
// out of KVM_RUN (a signal plus kvm_run->immediate_exit).
//
// Threading: every method may be called from any thread.
#ifndef FAULTLINE_VMM_VCPU_RUN_CONTROL_H_
#define FAULTLINE_VMM_VCPU_RUN_CONTROL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vmm/stop/stop_reason.h"

namespace faultline::vmm {

class RunControl {
 public:
  explicit RunControl(uint32_t vcpu_count) : vcpu_count_(vcpu_count) {}

  RunControl(const RunControl&) = delete;
  RunControl& operator=(const RunControl&) = delete;

  // Registers how to kick one vCPU out of KVM_RUN.
  void AddKicker(std::function<void()> kick);

  // Returns false when already stopping.
  bool Pause();
  bool Resume();
  void Stop(StopReason reason);
  // A vCPU halted; the VM stops when all have.
  void NoteHalted();

  // Blocks a vCPU while paused; false when the VM is stopping.
  bool WaitWhilePaused();
  // Waits up to `timeout` for the stop; true when stopping.
  bool WaitForStop(absl::Duration timeout);

  bool stopping() const;
  bool paused() const;
  StopReason reason() const;
  // "running", "paused" or "stopping: <message>".
  std::string Describe() const;

 private:
  void KickAll() ABSL_LOCKS_EXCLUDED(mutex_);

  const uint32_t vcpu_count_;
  mutable absl::Mutex mutex_;
  std::vector<std::function<void()>> kickers_ ABSL_GUARDED_BY(mutex_);
  bool paused_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  uint32_t halted_ ABSL_GUARDED_BY(mutex_) = 0;
  StopReason reason_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VCPU_RUN_CONTROL_H_
