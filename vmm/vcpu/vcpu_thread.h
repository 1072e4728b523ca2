// One vCPU on its own thread: KVM_RUN in a loop, exits handled by
// HandleExit, pauses and stops obeyed through RunControl. A kick (SIGUSR1 to
// the thread, whose handler sets kvm_run->immediate_exit) makes KVM_RUN
// return EINTR, even while the vCPU waits for a page in userfaultfd; the
// loop then pauses or stops, and re-entering the guest retries the access.
// A touched poisoned page (machine_check.h), reported as a memory-error
// SIGBUS that ends KVM_RUN with EINTR or as an MMIO exit into guest memory,
// makes the loop inject a machine check, or stop the VM when it cannot.
//
// Threading: Start() and Join() from the thread that builds the VM; the
// vCPU thread owns the VcpuFd while it runs.
#ifndef FAULTLINE_VMM_VCPU_VCPU_THREAD_H_
#define FAULTLINE_VMM_VCPU_VCPU_THREAD_H_

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "vmm/devices/io_bus.h"
#include "vmm/kvm/vcpu_fd.h"
#include "vmm/vcpu/exit_handler.h"
#include "vmm/vcpu/machine_check.h"
#include "vmm/vcpu/run_control.h"

namespace faultline::vmm {

// Installs the no-op kick handler (without SA_RESTART). Called once by the
// VM builder before any vCPU starts; idempotent.
absl::Status InstallKickSignalHandler();

class VcpuThread {
 public:
  // Called on the vCPU thread before the first KVM_RUN with its thread id
  // (to attribute faults). `control` and `memory_errors` are not null and,
  // like everything in `exits`, outlive the thread.
  using OnStart = std::function<void(uint32_t thread_id, uint32_t vcpu_id)>;

  VcpuThread(uint32_t id, std::unique_ptr<VcpuFd> vcpu, size_t run_bytes,
             ExitContext exits, RunControl* control,
             const MemoryErrorReporter* memory_errors, OnStart on_start);
  ~VcpuThread();

  VcpuThread(const VcpuThread&) = delete;
  VcpuThread& operator=(const VcpuThread&) = delete;

  void Start();
  // Sends the kick signal; safe from any thread while the thread runs.
  void Kick();
  void Join();

  uint64_t exits() const { return exits_.load(); }

 private:
  void Loop();
  // Injects `mce` for a touched poisoned page; false when the VM must stop.
  bool InjectMachineCheck(const absl::StatusOr<kvm_x86_mce>& mce);

  const uint32_t id_;
  std::unique_ptr<VcpuFd> vcpu_;
  const size_t run_bytes_;
  const ExitContext exits_context_;
  RunControl* const control_;
  const MemoryErrorReporter* const memory_errors_;
  const OnStart on_start_;
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> exits_{0};
  pthread_t handle_{};
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VCPU_VCPU_THREAD_H_
