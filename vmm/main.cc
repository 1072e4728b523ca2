// vmm: a minimal KVM VMM whose guest memory is served, page by page, by a
// faultline broker. See vmm/README.md for flags, exit codes and policies.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "vmm/config.h"
#include "vmm/exit_codes.h"
#include "vmm/exit_report.h"
#include "vmm/run_report.h"
#include "vmm/vm_builder.h"

ABSL_FLAG(std::string, guest, "", "Guest payload: a static ELF64 file.");
ABSL_FLAG(std::string, kernel, "",
          "A kernel guest instead of a payload: a Linux bzImage or a "
          "multiboot kernel (as QEMU's -kernel).");
ABSL_FLAG(std::string, initrd, "",
          "With --kernel: Linux's initrd, or a multiboot kernel's modules "
          "(comma-separated, each 'FILE[ ARGS]' as QEMU's -initrd).");
ABSL_FLAG(std::string, cmdline, "",
          "With --kernel: the kernel command line (Linux default: "
          "console=ttyS0 reboot=k panic=-1).");
ABSL_FLAG(std::string, serial_input, "auto",
          "What the guest's serial console reads: auto (stdin when it is a "
          "terminal), none, - (stdin) or unix:PATH (a socket, one client at "
          "a time).");
ABSL_FLAG(std::string, memory, "64M", "Guest RAM size: 4096, 64K, 64M, 1G.");
ABSL_FLAG(int64_t, vcpus, 1, "Number of vCPUs (1 to 16).");
ABSL_FLAG(std::string, broker, "unix:/tmp/faultline/broker.sock",
          "Broker address: unix:PATH or HOST:PORT.");
ABSL_FLAG(std::string, vm_name, "",
          "The VM's name at the broker (default vmm-<pid>).");
ABSL_FLAG(std::string, vm_token, "", "Per-VM token for TCP brokers.");
ABSL_FLAG(std::string, ram_source, "zero",
          "What backs RAM: pattern:SEED, zero, image:PATH or store:NAME.");
ABSL_FLAG(std::string, pcimem, "0",
          "PCI memory device window size, a power of two (0: no device).");
ABSL_FLAG(std::string, pcimem_pool, "pcimem", "The device's frame pool.");
ABSL_FLAG(int64_t, pcimem_frames, 0,
          "Frames in the pool (0: one per window page).");
ABSL_FLAG(std::string, pcimem_policy, "identity", "identity or first_touch.");
ABSL_FLAG(std::string, pcimem_sharing, "private", "private or shared.");
ABSL_FLAG(std::string, guest_args, "",
          "Space-separated key=value pairs passed in BootInfo.args.");
ABSL_FLAG(std::string, serial, "-",
          "Guest serial output: a file or - for "
          "stdout.");
ABSL_FLAG(std::string, control, "",
          "Control socket path (commands: pause, resume, stop, status).");
ABSL_FLAG(absl::Duration, fault_deadline, absl::Seconds(30),
          "Longest a fault may wait (and the first attach may take).");
ABSL_FLAG(int64_t, retry_budget, 64, "Re-asks per fault before the VM stops.");
ABSL_FLAG(std::string, prefetch, "",
          "Pages after a faulting RAM page to ask the broker for with it: "
          "unset, 7 for payloads and 63 for kernels; "
          "adaptive (starts there, doubles while "
          "the guest walks through prefetched pages, halves while they go "
          "untouched; 0 to 64) or a fixed count 0 to 64.");
ABSL_FLAG(std::string, stats_json, "", "Write the exit summary as JSON here.");
ABSL_FLAG(std::string, staging, "auto",
          "auto: page bytes through the broker's shared-memory staging area "
          "when it is on a Unix socket; off: always inline in gRPC.");
ABSL_FLAG(std::string, fault_ring, "off",
          "on: with staging, faults and answers through a request/answer "
          "ring in the staging file instead of gRPC messages (gRPC stays for "
          "the rest); off: the stream alone.");
ABSL_FLAG(std::string, on_error, "machine_check",
          "What an error answer does: machine_check poisons the page and the "
          "vCPU touching it gets a machine check (stop where the host cannot); "
          "stop ends the VM with status 68.");
ABSL_FLAG(bool, preload_ram, false,
          "Ask the broker for every RAM page before the vCPUs start "
          "(counted as loaded pages, not faults).");
ABSL_FLAG(std::string, background_fill, "off",
          "on: once attached, RAM pages the guest has not touched are asked "
          "for and installed in the background, in address order (after a "
          "--replay_working_set's pages), guest faults first; off: only "
          "what the guest touches.");
ABSL_FLAG(int64_t, background_fill_rate, 20000,
          "Most pages a second background fill and replay install.");
ABSL_FLAG(std::string, record_working_set, "",
          "Write the RAM pages this run brought in for the guest (each "
          "faulting page, then its prefetched pages), in order, to this "
          "file when the VM ends.");
ABSL_FLAG(std::string, replay_working_set, "",
          "Install the pages of a --record_working_set file ahead of the "
          "guest, in their order, in the background (same memory source).");

namespace faultline::vmm {
namespace {

VmmFlags ReadFlags() {
  VmmFlags flags;
  flags.guest = absl::GetFlag(FLAGS_guest);
  flags.kernel = absl::GetFlag(FLAGS_kernel);
  flags.initrd = absl::GetFlag(FLAGS_initrd);
  flags.cmdline = absl::GetFlag(FLAGS_cmdline);
  flags.serial_input = absl::GetFlag(FLAGS_serial_input);
  flags.memory = absl::GetFlag(FLAGS_memory);
  flags.vcpus = absl::GetFlag(FLAGS_vcpus);
  flags.broker = absl::GetFlag(FLAGS_broker);
  flags.vm_name = absl::GetFlag(FLAGS_vm_name);
  if (flags.vm_name.empty()) flags.vm_name = absl::StrCat("vmm-", ::getpid());
  flags.vm_token = absl::GetFlag(FLAGS_vm_token);
  flags.ram_source = absl::GetFlag(FLAGS_ram_source);
  flags.pcimem = absl::GetFlag(FLAGS_pcimem);
  flags.pcimem_pool = absl::GetFlag(FLAGS_pcimem_pool);
  flags.pcimem_frames = absl::GetFlag(FLAGS_pcimem_frames);
  flags.pcimem_policy = absl::GetFlag(FLAGS_pcimem_policy);
  flags.pcimem_sharing = absl::GetFlag(FLAGS_pcimem_sharing);
  flags.guest_args = absl::GetFlag(FLAGS_guest_args);
  flags.serial = absl::GetFlag(FLAGS_serial);
  flags.control = absl::GetFlag(FLAGS_control);
  flags.fault_deadline = absl::GetFlag(FLAGS_fault_deadline);
  flags.retry_budget = absl::GetFlag(FLAGS_retry_budget);
  flags.prefetch = absl::GetFlag(FLAGS_prefetch);
  flags.stats_json = absl::GetFlag(FLAGS_stats_json);
  flags.staging = absl::GetFlag(FLAGS_staging);
  flags.fault_ring = absl::GetFlag(FLAGS_fault_ring);
  flags.preload_ram = absl::GetFlag(FLAGS_preload_ram);
  flags.on_error = absl::GetFlag(FLAGS_on_error);
  flags.background_fill = absl::GetFlag(FLAGS_background_fill);
  flags.background_fill_rate = absl::GetFlag(FLAGS_background_fill_rate);
  flags.record_working_set = absl::GetFlag(FLAGS_record_working_set);
  flags.replay_working_set = absl::GetFlag(FLAGS_replay_working_set);
  return flags;
}

// The exit report and the guest's run report to stderr, and both as one
// JSON object to --stats_json.
void Report(const VmmConfig& config, const StopReason& reason,
            const FaultCountersSnapshot& stats, const RunReport& run) {
  std::fputs(ExitReportText(reason, stats).c_str(), stderr);
  std::fputs(RunReportSummary(run).c_str(), stderr);
  if (config.stats_json_path.empty()) return;
  std::ofstream out(config.stats_json_path, std::ios::trunc);
  out << MergeRunReportJson(ExitReportJson(reason, stats), run);
  if (!out) {
    std::fprintf(stderr, "vmm: cannot write --stats_json %s\n",
                 config.stats_json_path.c_str());
  }
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "vmm --guest=ELF | --kernel=FILE [--initrd=FILE] [--cmdline=...] "
      "--broker=unix:PATH [flags]: runs a KVM guest whose memory a faultline "
      "broker serves");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<VmmConfig> config = ParseConfig(ReadFlags());
  if (!config.ok()) {
    std::fprintf(stderr, "vmm: %s\n", config.status().message().data());
    return ExitCodeFor(StopReason{StopKind::kBadFlags, 0, ""});
  }

  // SIGTERM/SIGINT are taken by a waiting thread, not a handler: block them
  // before any other thread exists so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<VirtualMachine>> vm = BuildVm(*config);
  if (!vm.ok()) {
    const StopReason failed = StopReasonOf(vm.status());
    std::fprintf(stderr, "vmm: %s\n", failed.message.c_str());
    return ExitCodeFor(failed);
  }

  std::atomic<bool> running{true};
  std::thread signal_waiter([&] {
    const timespec poll_interval = {0, 200'000'000};
    while (running) {
      const int signal = ::sigtimedwait(&stop_signals, nullptr, &poll_interval);
      if (signal > 0) {
        (*vm)->RequestStop({StopKind::kControlStop, 0,
                            absl::StrCat("stopped by signal ", signal)});
      }
    }
  });
  const StopReason reason = (*vm)->Run();
  running = false;
  signal_waiter.join();

  Report(*config, reason, (*vm)->Stats(), (*vm)->Report(reason));
  return ExitCodeFor(reason);
}

}  // namespace
}  // namespace faultline::vmm

int main(int argc, char** argv) { return faultline::vmm::Main(argc, argv); }
