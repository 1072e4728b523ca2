#include "integration/testhost/daemons.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration/testhost/subprocess.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/base/unique_fd.h"

namespace faultline::testhost {
namespace {

constexpr absl::Duration kToolTimeout = absl::Seconds(30);
constexpr absl::Duration kDaemonStartTimeout = absl::Seconds(60);
// How long a daemon that failed to start is given to show up anyway, started
// by a parallel launcher.
constexpr absl::Duration kRaceGrace = absl::Seconds(5);

// QEMU runs as root with no cgroups, namespaces or security driver: there is
// no systemd to provide them, and the shares must be readable as root.
const std::vector<std::pair<std::string, std::string>>& QemuSettings() {
  static const auto* settings =
      new std::vector<std::pair<std::string, std::string>>{
          {"user", "\"root\""},
          {"group", "\"root\""},
          {"dynamic_ownership", "0"},
          {"remember_owner", "0"},
          {"cgroup_controllers", "[ ]"},
          {"namespaces", "[ ]"},
          {"security_driver", "\"none\""},
      };
  return *settings;
}

const std::string* WantedValue(absl::string_view key) {
  for (const auto& [name, value] : QemuSettings()) {
    if (name == key) return &value;
  }
  return nullptr;
}

absl::Status RunTool(const std::vector<std::string>& argv) {
  ASSIGN_OR_RETURN(int status, RunWithTimeout(argv, kToolTimeout));
  if (status != 0) {
    return absl::InternalError(
        absl::StrCat(argv[0], " failed with exit status ", status));
  }
  return absl::OkStatus();
}

absl::Status WaitForSocket(const std::string& path, absl::string_view daemon,
                           absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!SocketAccepts(path)) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          daemon, " started but its socket ", path, " did not answer within ",
          absl::FormatDuration(timeout), "; see /var/log/libvirt and try `",
          daemon, " --verbose`"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::OkStatus();
}

// Starts `daemon` --daemon, waits for its socket and says so. A start that
// fails while the socket comes up anyway means a parallel launcher won the
// race.
absl::Status StartDaemon(const std::string& daemon, const std::string& socket,
                         const std::function<void(absl::string_view)>& report) {
  absl::Status started = RunTool({daemon, "--daemon"});
  absl::Status answered = WaitForSocket(
      socket, daemon, started.ok() ? kDaemonStartTimeout : kRaceGrace);
  if (!answered.ok()) return started.ok() ? answered : started;
  report(started.ok()
             ? absl::StrCat("started ", daemon)
             : absl::StrCat(daemon, " was started by another launcher"));
  return absl::OkStatus();
}

absl::Status EnsureUsersAndGroups(
    const std::function<void(absl::string_view)>& report) {
  for (const char* group : {"kvm", "libvirt-qemu"}) {
    if (getgrnam(group) != nullptr) continue;
    absl::Status added = RunTool({"groupadd", "-r", group});
    // A launcher running in parallel may have added it first.
    if (!added.ok() && getgrnam(group) == nullptr) return added;
    report(absl::StrCat("created system group ", group));
  }
  if (getpwnam("libvirt-qemu") == nullptr) {
    absl::Status added = RunTool(
        {"useradd", "-r", "-g", "libvirt-qemu", "-G", "kvm", "libvirt-qemu"});
    if (!added.ok() && getpwnam("libvirt-qemu") == nullptr) return added;
    report("created system user libvirt-qemu");
  }
  return absl::OkStatus();
}

absl::Status EnsureDirectory(
    const std::string& path,
    const std::function<void(absl::string_view)>& report) {
  if (::mkdir(path.c_str(), 0755) == 0) {
    report(absl::StrCat("created ", path));
    return absl::OkStatus();
  }
  if (errno == EEXIST) return absl::OkStatus();
  return ErrnoError(absl::StrCat("creating ", path));
}

absl::Status EnsureQemuConf(
    const std::function<void(absl::string_view)>& report) {
  std::string existing;
  {
    std::ifstream in(kQemuConfPath);
    if (in) {
      std::stringstream contents;
      contents << in.rdbuf();
      existing = contents.str();
    }
  }
  std::string wanted = ConfigureQemuConf(existing);
  if (wanted == existing) return absl::OkStatus();
  const std::string temporary = absl::StrCat(kQemuConfPath, ".testhost-new");
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << wanted;
    out.close();
    if (!out) {
      return absl::InternalError(absl::StrCat("cannot write ", temporary));
    }
  }
  RETURN_IF_ERROR(CheckSyscall(::rename(temporary.c_str(), kQemuConfPath),
                               absl::StrCat("replacing ", kQemuConfPath))
                      .status());
  report(absl::StrCat("configured ", kQemuConfPath,
                      ": QEMU as root, no cgroups, namespaces or security "
                      "driver"));
  return absl::OkStatus();
}

}  // namespace

std::string ConfigureQemuConf(absl::string_view existing) {
  std::vector<std::string> lines = absl::StrSplit(existing, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::vector<std::string> satisfied;
  bool changed = false;
  bool inside_replaced_list = false;
  for (std::string& line : lines) {
    if (inside_replaced_list) {
      // The continuation of a multi-line list assignment being replaced.
      inside_replaced_list = line.find(']') == std::string::npos;
      line = absl::StrCat("#", line);
      continue;
    }
    absl::string_view stripped = absl::StripLeadingAsciiWhitespace(line);
    if (stripped.empty() || stripped[0] == '#') continue;
    const size_t equals = stripped.find('=');
    if (equals == absl::string_view::npos) continue;
    const std::string key(
        absl::StripAsciiWhitespace(stripped.substr(0, equals)));
    const std::string* wanted = WantedValue(key);
    if (wanted == nullptr) continue;
    const absl::string_view value =
        absl::StripAsciiWhitespace(stripped.substr(equals + 1));
    bool already = false;
    for (const std::string& done : satisfied) already |= done == key;
    if (value == *wanted && !already) {
      satisfied.push_back(key);
      continue;
    }
    inside_replaced_list = absl::StartsWith(value, "[") &&
                           value.find(']') == absl::string_view::npos;
    line = absl::StrCat("# ", line, "  # replaced by faultline testhost");
    changed = true;
  }
  std::string appended;
  for (const auto& [key, value] : QemuSettings()) {
    bool already = false;
    for (const std::string& done : satisfied) already |= done == key;
    if (!already) absl::StrAppend(&appended, key, " = ", value, "\n");
  }
  if (!changed && appended.empty()) return std::string(existing);
  std::string result;
  for (const std::string& line : lines) absl::StrAppend(&result, line, "\n");
  if (!appended.empty()) {
    absl::StrAppend(&result,
                    "# Added by faultline's testhost: QEMU as root without "
                    "systemd (see integration/testhost/README.md).\n",
                    appended);
  }
  return result;
}

bool SocketAccepts(const std::string& path) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return false;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  return RetryOnEintr([&] {
           return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address),
                            sizeof(address));
         }) == 0;
}

absl::Status EnsureLibvirtDaemons(
    const std::function<void(absl::string_view)>& report) {
  if (SocketAccepts(kLibvirtdSocket)) return absl::OkStatus();
  if (geteuid() != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "libvirtd is not running (nothing answers on ", kLibvirtdSocket,
        ") and starting it needs root: run testhost as root once, or start "
        "libvirtd yourself (integration/testhost/README.md)"));
  }
  RETURN_IF_ERROR(EnsureUsersAndGroups(report));
  RETURN_IF_ERROR(EnsureDirectory("/var/log/libvirt", report));
  RETURN_IF_ERROR(EnsureDirectory("/var/run/libvirt", report));
  RETURN_IF_ERROR(EnsureQemuConf(report));
  if (!SocketAccepts(kVirtlogdSocket)) {
    RETURN_IF_ERROR(StartDaemon("virtlogd", kVirtlogdSocket, report));
  }
  RETURN_IF_ERROR(StartDaemon("libvirtd", kLibvirtdSocket, report));
  return absl::OkStatus();
}

}  // namespace faultline::testhost
