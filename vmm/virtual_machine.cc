#include "vmm/virtual_machine.h"

#include <utility>

namespace faultline::vmm {

StopReason VirtualMachine::Run() {
  for (auto& vcpu : parts_.vcpus) vcpu->Start();
  // Every way out (guest exit, control, signal, fault engine) calls Stop().
  while (!parts_.run_control->WaitForStop(absl::Seconds(1))) {
  }
  Teardown();
  return parts_.run_control->reason();
}

void VirtualMachine::RequestStop(StopReason reason) {
  parts_.run_control->Stop(std::move(reason));
}

void VirtualMachine::Teardown() {
  parts_.control_server.reset();
  // Stop() kicked every vCPU. Closing the userfaultfd (destroying the
  // engine) releases a vCPU still blocked on a page, so every join ends.
  if (parts_.engine != nullptr) {
    final_stats_ = parts_.engine->stats().Snapshot();
    parts_.engine.reset();
  }
  for (auto& vcpu : parts_.vcpus) vcpu->Join();
}

VirtualMachine::~VirtualMachine() {
  if (parts_.run_control != nullptr) {
    parts_.run_control->Stop({StopKind::kVmmError, 0, "the VM was destroyed"});
  }
  Teardown();
}

FaultCountersSnapshot VirtualMachine::Stats() const {
  return parts_.engine != nullptr ? parts_.engine->stats().Snapshot()
                                  : final_stats_;
}

}  // namespace faultline::vmm
