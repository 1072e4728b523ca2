#include "integration/testhost/domain_xml.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "proto/base/status_macros.h"

namespace faultline::testhost {
namespace {

absl::Status CheckAbsolute(absl::string_view what, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be an absolute path, got \"", path, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

std::string XmlEscape(absl::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&apos;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

absl::StatusOr<std::string> BuildDomainXml(const DomainConfig& config) {
  if (config.name.empty()) {
    return absl::InvalidArgumentError("the domain needs a name");
  }
  if (config.memory_mib == 0) {
    return absl::InvalidArgumentError("memory must be at least 1 MiB");
  }
  if (config.cpus <= 0) {
    return absl::InvalidArgumentError("cpus must be at least 1");
  }
  RETURN_IF_ERROR(CheckAbsolute("kernel", config.kernel_path));
  RETURN_IF_ERROR(CheckAbsolute("initramfs", config.initramfs_path));
  RETURN_IF_ERROR(CheckAbsolute("console", config.console_path));
  RETURN_IF_ERROR(CheckAbsolute("results folder", config.results_dir));
  RETURN_IF_ERROR(CheckAbsolute("emulator", config.emulator));
  // multidevs='remap' gives files from different host devices distinct inode
  // numbers in the guest; the host root spans several file systems.
  return absl::StrCat(
      "<domain type='qemu'>\n"
      "  <name>",
      XmlEscape(config.name), "</name>\n", "  <memory unit='MiB'>",
      config.memory_mib, "</memory>\n", "  <vcpu>", config.cpus, "</vcpu>\n",
      "  <cpu mode='maximum'/>\n"
      "  <os>\n"
      "    <type arch='x86_64' machine='q35'>hvm</type>\n"
      "    <kernel>",
      XmlEscape(config.kernel_path), "</kernel>\n", "    <initrd>",
      XmlEscape(config.initramfs_path), "</initrd>\n", "    <cmdline>",
      XmlEscape(config.kernel_cmdline), "</cmdline>\n",
      "  </os>\n"
      "  <features>\n"
      "    <acpi/>\n"
      "    <apic/>\n"
      "  </features>\n"
      "  <on_poweroff>destroy</on_poweroff>\n"
      "  <on_reboot>destroy</on_reboot>\n"
      "  <on_crash>destroy</on_crash>\n"
      "  <devices>\n"
      "    <emulator>",
      XmlEscape(config.emulator), "</emulator>\n",
      "    <filesystem type='mount' accessmode='passthrough' "
      "multidevs='remap'>\n"
      "      <source dir='/'/>\n"
      "      <target dir='",
      kHostRootTag, "'/>\n",
      "      <readonly/>\n"
      "    </filesystem>\n"
      "    <filesystem type='mount' accessmode='passthrough'>\n"
      "      <source dir='",
      XmlEscape(config.results_dir), "'/>\n", "      <target dir='",
      kResultsTag, "'/>\n",
      "    </filesystem>\n"
      "    <serial type='file'>\n"
      "      <source path='",
      XmlEscape(config.console_path), "' append='off'/>\n",
      "      <target port='0'/>\n"
      "    </serial>\n"
      "    <memballoon model='none'/>\n"
      "  </devices>\n"
      "</domain>\n");
}

}  // namespace faultline::testhost
