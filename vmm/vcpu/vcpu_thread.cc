#include "vmm/vcpu/vcpu_thread.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "vmm/vcpu/exit_handler.h"

namespace faultline::vmm {
namespace {

constexpr int kKickSignal = SIGUSR1;

// The running vCPU's kvm_run, for the signal handler of its own thread.
thread_local kvm_run* current_run = nullptr;

void OnKickSignal(int) {
  if (current_run != nullptr) current_run->immediate_exit = 1;
}

}  // namespace

absl::Status InstallKickSignalHandler() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnKickSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
  if (::sigaction(kKickSignal, &action, nullptr) != 0) {
    return ErrnoError("sigaction SIGUSR1");
  }
  return absl::OkStatus();
}

VcpuThread::VcpuThread(uint32_t id, std::unique_ptr<VcpuFd> vcpu,
                       size_t run_bytes, ExitContext exits, RunControl* control,
                       const MemoryErrorReporter* memory_errors,
                       OnStart on_start)
    : id_(id),
      vcpu_(std::move(vcpu)),
      run_bytes_(run_bytes),
      exits_context_(exits),
      control_(control),
      memory_errors_(memory_errors),
      on_start_(std::move(on_start)) {}

VcpuThread::~VcpuThread() { Join(); }

void VcpuThread::Start() {
  thread_ = std::thread([this] { Loop(); });
  handle_ = thread_.native_handle();
  started_ = true;
}

void VcpuThread::Kick() {
  if (!started_ || finished_) return;
  vcpu_->RequestImmediateExit();
  ::pthread_kill(handle_, kKickSignal);
}

void VcpuThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void VcpuThread::Loop() {
  current_run = vcpu_->run();
  CatchMemoryErrorsOnThisThread();
  if (on_start_) on_start_(static_cast<uint32_t>(::syscall(SYS_gettid)), id_);
  while (control_->WaitWhilePaused()) {
    absl::Status ran = vcpu_->Run();
    if (absl::IsCancelled(ran)) {
      vcpu_->ClearImmediateExit();
      if (const std::optional<uint64_t> host = TakeMemoryError();
          host.has_value() &&
          !InjectMachineCheck(memory_errors_->MachineCheckFor(*host, id_))) {
        break;
      }
      continue;  // kicked: look at the run state, then re-enter
    }
    if (!ran.ok()) {
      control_->Stop({StopKind::kVmmError, 0,
                      absl::StrFormat("vCPU %u: %s", id_, ran.ToString())});
      break;
    }
    ++exits_;
    const ExitAction action =
        HandleExit(vcpu_->run(), run_bytes_, exits_context_);
    if (action.kind == ExitAction::Kind::kContinue) continue;
    if (action.kind == ExitAction::Kind::kMemoryError) {
      if (InjectMachineCheck(memory_errors_->MachineCheckForGuestPhysical(
              action.guest_physical, id_))) {
        continue;
      }
      break;
    }
    if (action.kind == ExitAction::Kind::kHalt) {
      control_->NoteHalted();
      // Interrupts are off, so a halted vCPU never runs again.
      while (!control_->WaitForStop(absl::Seconds(1))) {
      }
      break;
    }
    std::string message = absl::StrFormat("vCPU %u: %s", id_, action.message);
    if (auto regs = vcpu_->GetRegisters(); regs.ok()) {
      message += absl::StrFormat(" (rip %#x rsp %#x)", regs->rip, regs->rsp);
    }
    if (action.kind == ExitAction::Kind::kShutdown &&
        exits_context_.on_shutdown) {
      exits_context_.on_shutdown(message);
    } else {
      control_->Stop({StopKind::kGuestCrashed, 0, message});
    }
    break;
  }
  finished_ = true;
  current_run = nullptr;
}

bool VcpuThread::InjectMachineCheck(const absl::StatusOr<kvm_x86_mce>& mce) {
  absl::Status injected = memory_errors_->Inject(mce, *vcpu_, id_);
  if (injected.ok()) return true;
  // Without machine checks, a poisoned page ends the VM as the error answer
  // would have; a failed injection is the VMM's own failure.
  control_->Stop({absl::IsFailedPrecondition(injected)
                      ? StopKind::kBrokerErrorAnswer
                      : StopKind::kVmmError,
                  0, std::string(injected.message())});
  return false;
}

}  // namespace faultline::vmm
