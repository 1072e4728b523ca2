// The VMM's command line turned into a checked configuration. Pure: the flag
// values come in as strings, errors name the flag and the accepted forms.
#ifndef FAULTLINE_VMM_CONFIG_H_
#define FAULTLINE_VMM_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::vmm {

// The flags as given (see main.cc for their documentation).
struct VmmFlags {
  std::string guest;
  // Kernel guests (kernel_config.h): --kernel, --initrd, --cmdline.
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  std::string serial_input = "auto";
  std::string memory = "64M";
  int64_t vcpus = 1;
  std::string broker;
  std::string vm_name;
  std::string vm_token;
  std::string ram_source = "zero";
  std::string pcimem = "0";
  std::string pcimem_pool = "pcimem";
  int64_t pcimem_frames = 0;
  std::string pcimem_policy = "identity";
  std::string pcimem_sharing = "private";
  std::string guest_args;
  std::string serial = "-";
  std::string control;
  absl::Duration fault_deadline = absl::Seconds(30);
  int64_t retry_budget = 64;
  std::string prefetch;  // empty: the format's count; "adaptive"; or a count
  std::string stats_json;
  std::string staging = "auto";
  std::string fault_ring = "off";
  bool preload_ram = false;
  std::string on_error = "machine_check";
  std::string background_fill = "off";
  int64_t background_fill_rate = 20000;
  std::string record_working_set;
  std::string replay_working_set;
};

// Where the guest's serial input comes from (--serial_input).
struct SerialInputConfig {
  enum class Kind { kNone, kStdin, kUnixSocket };
  Kind kind = Kind::kNone;
  std::string socket_path;  // kUnixSocket
};

struct VmmConfig {
  std::string guest_path;  // a payload; empty with a kernel
  // A kernel guest: a Linux bzImage or a multiboot kernel (kernel_config.h).
  std::string kernel_path;
  std::vector<std::string> initrds;  // "PATH" or "PATH ARGS"
  std::string kernel_cmdline;        // empty: the format's default
  SerialInputConfig serial_input;
  uint64_t ram_bytes = 0;
  uint32_t vcpu_count = 1;
  std::string broker_target;  // gRPC target: "unix:PATH" or "HOST:PORT"
  std::string vm_name;
  std::string vm_token;
  v1::Source ram_source;
  uint64_t pcimem_bytes = 0;  // 0: no PCI memory device
  v1::DeviceSource pcimem_source;
  std::string guest_args;   // with pattern_seed=N appended for pattern RAM
  std::string serial_path;  // "-" for stdout
  std::string control_path;
  absl::Duration fault_deadline;
  uint32_t retry_budget = 0;
  // RAM faults ask for this many next pages; unset: 7 for payloads, 63 for
  // kernels (whose boots write long runs of zero pages). Adaptive: that is
  // where the window starts (vmm/fault/prefetch_window.h).
  std::optional<uint32_t> prefetch_pages;
  bool prefetch_adaptive = false;
  std::string stats_json_path;
  // Ask a broker on a Unix socket for a staging area (--staging=auto).
  bool staging_auto = true;
  // With staging: faults and answers through the staging file's fault ring
  // (--fault_ring=on; vmm/transport/fault_ring.h).
  bool fault_ring = false;
  bool preload_ram = false;  // every RAM page from the broker before start
  // Untouched RAM pages installed in the background once attached, in
  // address order, at most this many a second (vmm/fault/background_fill.h).
  bool background_fill = false;
  uint32_t background_fill_rate = 20000;
  // Write the pages the guest faulted in, in order, here; install those of
  // an earlier record ahead of the guest (vmm/fault/working_set.h).
  std::string record_working_set_path;
  std::string replay_working_set_path;
  // An error answer poisons the page and the guest gets a machine check
  // (--on_error=machine_check), or it stops the VM (--on_error=stop).
  bool machine_check_on_error = true;
};

// "4096", "64K", "64M", "1G" (binary multiples).
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

absl::StatusOr<VmmConfig> ParseConfig(const VmmFlags& flags);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_CONFIG_H_
