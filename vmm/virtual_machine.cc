#include "vmm/virtual_machine.h"

#include <utility>

#include "vmm/exit_codes.h"

namespace faultline::vmm {

StopReason VirtualMachine::Run() {
  vcpus_started_ = absl::Now();
  for (auto& vcpu : parts_->vcpus) vcpu->Start();
  // Every way out (guest exit, power off, reset, control, signal, fault
  // engine) calls Stop().
  while (!parts_->run_control->WaitForStop(absl::Seconds(1))) {
  }
  stopped_ = absl::Now();
  Teardown();
  return parts_->run_control->reason();
}

void VirtualMachine::RequestStop(StopReason reason) {
  parts_->run_control->Stop(std::move(reason));
}

void VirtualMachine::Teardown() {
  parts_->control_server.reset();
  if (parts_->serial_input != nullptr) {
    serial_input_bytes_ = parts_->serial_input->bytes_received();
    parts_->serial_input.reset();
  }
  // Stop() kicked every vCPU. Closing the userfaultfd (destroying the
  // engine) releases a vCPU still blocked on a page, so every join ends.
  if (parts_->engine != nullptr) {
    final_stats_ = parts_->engine->stats().Snapshot();
    parts_->engine.reset();
  }
  for (auto& vcpu : parts_->vcpus) vcpu->Join();
}

VirtualMachine::~VirtualMachine() {
  if (parts_->run_control != nullptr) {
    parts_->run_control->Stop({StopKind::kVmmError, 0, "the VM was destroyed"});
  }
  Teardown();
}

FaultCountersSnapshot VirtualMachine::Stats() const {
  return parts_->engine != nullptr ? parts_->engine->stats().Snapshot()
                                   : final_stats_;
}

RunReport VirtualMachine::Report(const StopReason& reason) const {
  RunReport report;
  report.boot_format = BootFormatName(parts_->boot_format);
  report.loader_pages = parts_->loader_pages;
  report.build_seconds =
      absl::ToDoubleSeconds(vcpus_started_ - parts_->build_started);
  report.run_seconds = absl::ToDoubleSeconds(stopped_ - vcpus_started_);
  if (parts_->devices != nullptr) {
    if (auto first =
            parts_->devices->serial().first_interrupt_driven_output()) {
      report.first_user_output_seconds =
          absl::ToDoubleSeconds(*first - vcpus_started_);
    }
  }
  report.end = std::string(StopKindName(reason.kind));
  report.exit_status = ExitCodeFor(reason);
  report.serial_input_bytes = serial_input_bytes_;
  return report;
}

}  // namespace faultline::vmm
