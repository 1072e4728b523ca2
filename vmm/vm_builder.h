// Builds one VM from a checked configuration, in one place that reads top to
// bottom (vm_builder.cc), runs it until it stops, and tears it down in order.
//
// Threading: Build() and Run() are called from main's thread. During Run()
// the vCPU threads, the fault engine's threads and the control socket's
// thread run; RequestStop() may be called from any thread (signals).
#ifndef FAULTLINE_VMM_VM_BUILDER_H_
#define FAULTLINE_VMM_VM_BUILDER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/base/unique_fd.h"
#include "vmm/config.h"
#include "vmm/control/control_server.h"
#include "vmm/devices/device_set.h"
#include "vmm/devices/pcimem_fault_bridge.h"
#include "vmm/devices/serial_input.h"
#include "vmm/fault/fault_engine.h"
#include "vmm/kvm/irqchip.h"
#include "vmm/kvm/kvm.h"
#include "vmm/loader/guest_image.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/run_report.h"
#include "vmm/vcpu/machine_check.h"
#include "vmm/vcpu/run_control.h"
#include "vmm/vcpu/vcpu_thread.h"

namespace faultline::vmm {

// Why Build() failed, for the exit status.
enum class BuildFailure {
  kKvmUnavailable,
  kBadPayload,
  kBrokerUnreachable,
  kBrokerRefused,
  kVmmError,
};

struct BuildError {
  BuildFailure failure;
  absl::Status status;
};

class VirtualMachine {
 public:
  // Builds everything; nothing runs guest code until Run().
  static std::unique_ptr<VirtualMachine> Build(const VmmConfig& config,
                                               BuildError* error);
  ~VirtualMachine();

  VirtualMachine(const VirtualMachine&) = delete;
  VirtualMachine& operator=(const VirtualMachine&) = delete;

  // Starts the vCPUs and returns why the VM stopped, after every thread of
  // the VM has ended.
  StopReason Run();

  void RequestStop(StopReason reason) { control_->Stop(std::move(reason)); }

  // Fault statistics, valid before and after Run().
  FaultCountersSnapshot Stats() const;
  // The guest's part of the exit summary, after Run().
  RunReport Report(const StopReason& reason) const;

 private:
  explicit VirtualMachine(const VmmConfig& config) : config_(config) {}
  std::string HandleControl(ControlCommand command);
  void Teardown();
  // A kernel guest powered off or reset: ends the run with the status it
  // latched at port 0xF4 (pc_machine.h), or the format's default.
  void EndKernelRun(StopKind kind, const std::string& how);

  const VmmConfig config_;
  std::unique_ptr<Kvm> kvm_;
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<RunControl> control_;
  // Before the engine: the engine's device-page hooks point at it.
  std::unique_ptr<PciMemFaultBridge> pcimem_bridge_;  // with a PCI window
  std::unique_ptr<FaultEngine> engine_;
  std::unique_ptr<MemoryErrorReporter> memory_errors_;
  FaultCountersSnapshot final_stats_;
  std::unique_ptr<VmFd> vm_;
  std::unique_ptr<KvmIrqchip> irqchip_;  // kernel guests only
  UniqueFd serial_file_;
  std::unique_ptr<DeviceSet> devices_;
  std::unique_ptr<SerialInput> serial_input_;
  uint64_t serial_input_bytes_ = 0;
  BootFormat boot_format_ = BootFormat::kPayload;
  uint64_t loader_pages_ = 0;
  absl::Time build_started_;
  absl::Time vcpus_started_;
  absl::Time stopped_;
  std::vector<std::unique_ptr<VcpuThread>> vcpus_;
  std::unique_ptr<ControlServer> control_server_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VM_BUILDER_H_
