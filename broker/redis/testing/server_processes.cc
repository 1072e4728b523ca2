#include "broker/redis/testing/server_processes.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "proto/base/errno_status.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker::redis::testing {

// The first of `names` found in /usr/bin, /usr/local/bin or $PATH.
std::string FindProgram(const std::string& name) {
  std::vector<std::string> dirs = {"/usr/bin", "/usr/local/bin"};
  if (const char* path = getenv("PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      dirs.emplace_back(dir);
    }
  }
  for (const std::string& dir : dirs) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

// Starts `argv` with stdout and stderr into `log`; dies with this thread.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::string& log) {
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  UniqueFd out(
      open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!out) return ErrnoError(absl::StrCat("open ", log));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out.get(), 1);
    dup2(out.get(), 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

namespace {

bool PortFree(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return bind(fd.get(), reinterpret_cast<sockaddr*>(&address),
              sizeof(address)) == 0;
}

}  // namespace

// A port in [20000, 50000) that is free now, with port + 10000 free too.
int PickPort() {
  static std::mt19937 random(std::random_device{}() ^ getpid());
  std::uniform_int_distribution<int> ports(20000, 49999);
  for (;;) {
    const int port = ports(random);
    if (PortFree(port) && PortFree(port + 10000)) return port;
  }
}

// "key:value" lines of INFO or CLUSTER INFO.
std::string InfoField(const std::string& info, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(info, "\r\n")) {
    if (absl::StartsWith(line, key) && line.size() > key.size() &&
        line[key.size()] == ':') {
      return std::string(line.substr(key.size() + 1));
    }
  }
  return "";
}

}  // namespace faultline::broker::redis::testing
