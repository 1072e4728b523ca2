// The libvirt domain XML of one test host run: a pure function of its config.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_DOMAIN_XML_H_
#define FAULTLINE_INTEGRATION_TESTHOST_DOMAIN_XML_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::testhost {

// 9p mount tags, shared with init.sh.
inline constexpr char kHostRootTag[] = "hostroot";
inline constexpr char kResultsTag[] = "results";

struct DomainConfig {
  std::string name;
  uint64_t memory_mib = 0;
  int cpus = 0;
  std::string kernel_path;     // absolute
  std::string initramfs_path;  // absolute
  std::string kernel_cmdline;
  std::string console_path;  // absolute; the serial port writes here
  std::string results_dir;   // absolute; writable 9p share
  std::string emulator = "/usr/bin/qemu-system-x86_64";
};

// Escapes the five XML special characters for text and attribute values.
std::string XmlEscape(absl::string_view text);

// The domain XML: TCG ("qemu" type) with the maximum CPU model (SVM with
// nested paging), q35, direct kernel boot, serial to a file, this machine's
// root read-only and the results folder writable over 9p, and destroy on
// power off, reboot and crash so the transient domain ends with its guest.
// Rejects configs with empty or relative paths and non-positive sizes.
absl::StatusOr<std::string> BuildDomainXml(const DomainConfig& config);

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_DOMAIN_XML_H_
