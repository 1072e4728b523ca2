#include "vmm/config.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"
#include "proto/guest_abi.h"
#include "vmm/kernel_config.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

absl::Status FlagError(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

bool IsPowerOfTwo(uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

absl::StatusOr<uint64_t> ParseSeed(absl::string_view text) {
  uint64_t seed;
  if (absl::ConsumePrefix(&text, "0x") || absl::ConsumePrefix(&text, "0X")) {
    if (!text.empty() && absl::SimpleHexAtoi(text, &seed)) return seed;
  } else if (absl::SimpleAtoi(text, &seed)) {
    return seed;
  }
  return absl::InvalidArgumentError("not a 64-bit number");
}

absl::Status ParseRamSource(absl::string_view text, VmmConfig* config) {
  constexpr char kForms[] = "pattern:SEED, zero, image:PATH or store:NAME";
  if (text == "zero") {
    config->ram_source.mutable_zero();
    return absl::OkStatus();
  }
  if (absl::ConsumePrefix(&text, "pattern:")) {
    absl::StatusOr<uint64_t> seed = ParseSeed(text);
    if (!seed.ok()) {
      return FlagError("ram_source", absl::StrCat("pattern seed '", text,
                                                  "' is not a number"));
    }
    config->ram_source.mutable_pattern()->set_seed(*seed);
    if (!config->guest_args.empty()) config->guest_args += " ";
    config->guest_args += absl::StrCat("pattern_seed=", *seed);
    return absl::OkStatus();
  }
  if (absl::ConsumePrefix(&text, "image:")) {
    if (text.empty()) return FlagError("ram_source", "image: needs a path");
    config->ram_source.mutable_image()->set_path(std::string(text));
    return absl::OkStatus();
  }
  if (absl::ConsumePrefix(&text, "store:")) {
    if (text.empty()) return FlagError("ram_source", "store: needs a name");
    config->ram_source.mutable_store()->set_store(std::string(text));
    return absl::OkStatus();
  }
  return FlagError("ram_source",
                   absl::StrCat("'", text, "' is not one of ", kForms));
}

absl::StatusOr<std::string> ParseBroker(absl::string_view text) {
  if (text.empty()) {
    return FlagError("broker", "required: unix:PATH or HOST:PORT");
  }
  if (absl::StartsWith(text, "unix:")) {
    if (text.size() == 5) return FlagError("broker", "unix: needs a path");
    return std::string(text);
  }
  const size_t colon = text.rfind(':');
  uint32_t port;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port == 0 ||
      port > 65535) {
    return FlagError(
        "broker", absl::StrCat("'", text, "' is not unix:PATH or HOST:PORT"));
  }
  return std::string(text);
}

}  // namespace

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return absl::InvalidArgumentError("empty size");
  uint64_t multiplier = 1;
  switch (absl::ascii_toupper(text.back())) {
    case 'K':
      multiplier = 1ull << 10;
      break;
    case 'M':
      multiplier = 1ull << 20;
      break;
    case 'G':
      multiplier = 1ull << 30;
      break;
    default:
      break;
  }
  if (multiplier != 1) text.remove_suffix(1);
  uint64_t value;
  if (text.empty() ||
      !std::all_of(
          text.begin(), text.end(),
          [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      !absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a size (4096, 64K, 64M, 1G)"));
  }
  if (value > UINT64_MAX / multiplier) {
    return absl::InvalidArgumentError("size overflows 64 bits");
  }
  return value * multiplier;
}

absl::StatusOr<VmmConfig> ParseConfig(const VmmFlags& flags) {
  VmmConfig config;
  RETURN_IF_ERROR(ParseGuestFlags(flags, &config));

  absl::StatusOr<uint64_t> memory = ParseSize(flags.memory);
  if (!memory.ok()) return FlagError("memory", memory.status().message());
  if (*memory % abi::kPageBytes != 0 || *memory < (2ull << 20) ||
      *memory > abi::kMaxRamBytes) {
    return FlagError("memory",
                     absl::StrFormat("%u bytes: need a multiple of 4096 from "
                                     "2M to %#x (the PCI hole)",
                                     *memory, abi::kMaxRamBytes));
  }
  config.ram_bytes = *memory;

  if (flags.vcpus < 1 || flags.vcpus > abi::kMaxVcpus) {
    return FlagError("vcpus", absl::StrFormat("%d: need 1 to %u", flags.vcpus,
                                              abi::kMaxVcpus));
  }
  config.vcpu_count = static_cast<uint32_t>(flags.vcpus);

  ASSIGN_OR_RETURN(config.broker_target, ParseBroker(flags.broker));
  if (flags.vm_name.empty()) return FlagError("vm_name", "must not be empty");
  config.vm_name = flags.vm_name;
  config.vm_token = flags.vm_token;

  config.guest_args = flags.guest_args;
  RETURN_IF_ERROR(ParseRamSource(flags.ram_source, &config));
  // A kernel reads its own command line; pattern_seed is for payloads.
  if (!config.kernel_path.empty()) config.guest_args.clear();
  if (config.guest_args.size() >= abi::kMaxArgsBytes) {
    return FlagError(
        "guest_args",
        absl::StrFormat("%u bytes with pattern_seed; at most %u",
                        config.guest_args.size(), abi::kMaxArgsBytes - 1));
  }

  absl::StatusOr<uint64_t> pcimem = ParseSize(flags.pcimem);
  if (!pcimem.ok()) return FlagError("pcimem", pcimem.status().message());
  if (*pcimem != 0 && (!IsPowerOfTwo(*pcimem) || *pcimem < abi::kPageBytes ||
                       *pcimem > abi::kMaxPciMemWindowBytes)) {
    return FlagError("pcimem",
                     absl::StrFormat("%u bytes: need 0 or a power of two from "
                                     "4096 to %#x (a BAR is a power of two)",
                                     *pcimem, abi::kMaxPciMemWindowBytes));
  }
  config.pcimem_bytes = *pcimem;
  if (flags.pcimem_frames < 0) {
    return FlagError("pcimem_frames", "must not be negative");
  }
  if (flags.pcimem_pool.empty()) {
    return FlagError("pcimem_pool", "must not be empty");
  }
  config.pcimem_source.set_pool(flags.pcimem_pool);
  // 0 frames: as many frames as the window has pages.
  config.pcimem_source.set_frame_count(
      flags.pcimem_frames > 0 ? static_cast<uint64_t>(flags.pcimem_frames)
                              : config.pcimem_bytes / abi::kPageBytes);
  if (flags.pcimem_policy == "identity") {
    config.pcimem_source.set_policy(v1::FRAME_POLICY_IDENTITY);
  } else if (flags.pcimem_policy == "first_touch") {
    config.pcimem_source.set_policy(v1::FRAME_POLICY_FIRST_TOUCH);
  } else {
    return FlagError("pcimem_policy", absl::StrCat("'", flags.pcimem_policy,
                                                   "' is not identity or "
                                                   "first_touch"));
  }
  if (flags.pcimem_sharing == "private") {
    config.pcimem_source.set_sharing(v1::SHARING_PRIVATE);
  } else if (flags.pcimem_sharing == "shared") {
    config.pcimem_source.set_sharing(v1::SHARING_SHARED);
  } else {
    return FlagError("pcimem_sharing", absl::StrCat("'", flags.pcimem_sharing,
                                                    "' is not private or "
                                                    "shared"));
  }

  if (flags.serial.empty()) return FlagError("serial", "use - for stdout");
  config.serial_path = flags.serial;
  config.control_path = flags.control;
  if (flags.fault_deadline <= absl::ZeroDuration()) {
    return FlagError("fault_deadline", "must be positive (e.g. 30s)");
  }
  config.fault_deadline = flags.fault_deadline;
  if (flags.retry_budget < 0 || flags.retry_budget > 1'000'000) {
    return FlagError("retry_budget", "need 0 to 1000000");
  }
  config.retry_budget = static_cast<uint32_t>(flags.retry_budget);
  config.prefetch_adaptive = flags.prefetch == "adaptive";
  if (!config.prefetch_adaptive && !flags.prefetch.empty()) {
    uint32_t pages = 0;
    if (!absl::SimpleAtoi(flags.prefetch, &pages) ||
        pages > v1::wire::kMaxPrefetchPages) {
      return FlagError(
          "prefetch",
          absl::StrFormat("'%s' is not adaptive or 0 to %u pages",
                          flags.prefetch, v1::wire::kMaxPrefetchPages));
    }
    config.prefetch_pages = pages;
  }
  config.stats_json_path = flags.stats_json;
  if (flags.staging != "auto" && flags.staging != "off") {
    return FlagError("staging",
                     absl::StrCat("'", flags.staging, "' is not auto or off"));
  }
  config.staging_auto = flags.staging == "auto";
  if (flags.fault_ring != "on" && flags.fault_ring != "off") {
    return FlagError("fault_ring",
                     absl::StrCat("'", flags.fault_ring, "' is not on or off"));
  }
  config.fault_ring = flags.fault_ring == "on";
  config.preload_ram = flags.preload_ram;
  if (flags.background_fill != "on" && flags.background_fill != "off") {
    return FlagError("background_fill", absl::StrCat("'", flags.background_fill,
                                                     "' is not on or off"));
  }
  config.background_fill = flags.background_fill == "on";
  if (flags.background_fill_rate < 1 ||
      flags.background_fill_rate > 10'000'000) {
    return FlagError("background_fill_rate", "need 1 to 10000000 pages/s");
  }
  config.background_fill_rate =
      static_cast<uint32_t>(flags.background_fill_rate);
  config.record_working_set_path = flags.record_working_set;
  config.replay_working_set_path = flags.replay_working_set;
  if (!config.record_working_set_path.empty() &&
      config.record_working_set_path == config.replay_working_set_path) {
    return FlagError("record_working_set",
                     "must not be the file --replay_working_set reads");
  }
  if (flags.on_error != "machine_check" && flags.on_error != "stop") {
    return FlagError(
        "on_error",
        absl::StrCat("'", flags.on_error, "' is not machine_check or stop"));
  }
  config.machine_check_on_error = flags.on_error == "machine_check";
  return config;
}

}  // namespace faultline::vmm
