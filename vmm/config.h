// The VMM's command line turned into a checked configuration. Pure: the flag
// values come in as strings, errors name the flag and the accepted forms.
#ifndef FAULTLINE_VMM_CONFIG_H_
#define FAULTLINE_VMM_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::vmm {

// The flags as given (see main.cc for their documentation).
struct VmmFlags {
  std::string guest;
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
  std::string stats_json;
  std::string staging = "auto";
  bool preload_ram = false;
  std::string on_error = "machine_check";
};

struct VmmConfig {
  std::string guest_path;
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
  std::string stats_json_path;
  // Ask a broker on a Unix socket for a staging area (--staging=auto).
  bool staging_auto = true;
  bool preload_ram = false;  // every RAM page from the broker before start
  // An error answer poisons the page and the guest gets a machine check
  // (--on_error=machine_check), or it stops the VM (--on_error=stop).
  bool machine_check_on_error = true;
};

// "4096", "64K", "64M", "1G" (binary multiples).
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

absl::StatusOr<VmmConfig> ParseConfig(const VmmFlags& flags);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_CONFIG_H_
