// Makes sure libvirtd and virtlogd run, configured for this machine's kind:
// no systemd, no cgroups, QEMU as root (ENVIRONMENT.md's recipe). Every step
// is idempotent and skipped when already done.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_DAEMONS_H_
#define FAULTLINE_INTEGRATION_TESTHOST_DAEMONS_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace faultline::testhost {

inline constexpr char kLibvirtdSocket[] = "/var/run/libvirt/libvirt-sock";
inline constexpr char kVirtlogdSocket[] = "/var/run/libvirt/virtlogd-sock";
inline constexpr char kQemuConfPath[] = "/etc/libvirt/qemu.conf";

// `existing` (the contents of qemu.conf, possibly empty) with the settings the
// test host needs: conflicting assignments are commented out, missing ones
// appended. Returns `existing` unchanged when it already has them all.
std::string ConfigureQemuConf(absl::string_view existing);

// Whether something accepts connections on the Unix socket at `path`.
bool SocketAccepts(const std::string& path);

// When libvirtd's socket does not answer: creates the users and groups,
// folders and qemu.conf settings it needs, then starts virtlogd and libvirtd
// and waits (bounded) for their sockets. Calls `report` with a sentence for
// each change it makes. Needs root only when something must change.
absl::Status EnsureLibvirtDaemons(
    const std::function<void(absl::string_view)>& report);

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_DAEMONS_H_
