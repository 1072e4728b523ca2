// A built VM (vm_builder.h makes it): runs it until it stops, then tears it
// down in order, and reports the guest's part of the exit summary. Build,
// run and control are apart: the builder makes the parts, this runs them,
// and the control protocol (vmm/control) acts on the run state.
//
// Threading: Run() and Report() are called from main's thread. During Run()
// the vCPU threads, the fault engine's threads, the serial input's thread
// and the control socket's thread run; RequestStop() and Stats() may be
// called from any thread.
#ifndef FAULTLINE_VMM_VIRTUAL_MACHINE_H_
#define FAULTLINE_VMM_VIRTUAL_MACHINE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "proto/base/unique_fd.h"
#include "vmm/control/control_server.h"
#include "vmm/devices/device_set.h"
#include "vmm/devices/serial_input.h"
#include "vmm/fault/fault_engine.h"
#include "vmm/kvm/irqchip.h"
#include "vmm/kvm/kvm.h"
#include "vmm/loader/guest_image.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/run_report.h"
#include "vmm/stop/stop_reason.h"
#include "vmm/vcpu/machine_check.h"
#include "vmm/vcpu/run_control.h"
#include "vmm/vcpu/vcpu_thread.h"

namespace faultline::vmm {

// The parts of a VM in the order the builder makes them; they are destroyed
// in reverse. They live on the heap, so a device's callback may point at
// them. Nothing runs guest code until VirtualMachine::Run().
struct VmParts {
  std::unique_ptr<Kvm> kvm;
  std::unique_ptr<GuestMemory> memory;
  std::unique_ptr<RunControl> run_control;
  std::unique_ptr<FaultEngine> engine;
  std::unique_ptr<MemoryErrorReporter> memory_errors;
  std::unique_ptr<VmFd> vm;
  std::unique_ptr<KvmIrqchip> irqchip;  // kernel guests only
  UniqueFd serial_file;
  std::unique_ptr<DeviceSet> devices;
  std::unique_ptr<SerialInput> serial_input;  // null without --serial_input
  std::vector<std::unique_ptr<VcpuThread>> vcpus;
  std::unique_ptr<ControlServer> control_server;
  // What the run report says about the build.
  BootFormat boot_format = BootFormat::kPayload;
  uint64_t loader_pages = 0;
  absl::Time build_started;
};

class VirtualMachine {
 public:
  explicit VirtualMachine(std::unique_ptr<VmParts> parts)
      : parts_(std::move(parts)) {}
  ~VirtualMachine();

  VirtualMachine(const VirtualMachine&) = delete;
  VirtualMachine& operator=(const VirtualMachine&) = delete;

  // Starts the vCPUs and returns why the VM stopped, after every thread of
  // the VM has ended.
  StopReason Run();

  void RequestStop(StopReason reason);

  // Fault statistics, valid before and after Run().
  FaultCountersSnapshot Stats() const;
  // The guest's part of the exit summary, after Run().
  RunReport Report(const StopReason& reason) const;

 private:
  void Teardown();

  std::unique_ptr<VmParts> parts_;
  FaultCountersSnapshot final_stats_;
  uint64_t serial_input_bytes_ = 0;
  absl::Time vcpus_started_;
  absl::Time stopped_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_VIRTUAL_MACHINE_H_
