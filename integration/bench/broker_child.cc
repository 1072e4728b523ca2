#include "integration/bench/broker_child.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::bench {
namespace {

constexpr absl::string_view kReadyPrefix = "broker: serving on unix:";

bool Executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

// The TCP address in the ready line "... tcp:HOST:PORT", or empty.
std::string TcpFromReadyLine(absl::string_view log) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (!absl::StartsWith(line, kReadyPrefix)) continue;
    for (absl::string_view word : absl::StrSplit(line, ' ')) {
      if (absl::ConsumePrefix(&word, "tcp:")) return std::string(word);
    }
  }
  return "";
}

}  // namespace

std::string FindBrokerInRunfiles(const char* argv0) {
  std::vector<std::string> candidates;
  if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
    candidates.push_back(absl::StrCat(srcdir, "/faultline/broker/broker"));
  }
  if (const char* runfiles = std::getenv("RUNFILES_DIR")) {
    candidates.push_back(absl::StrCat(runfiles, "/faultline/broker/broker"));
  }
  candidates.push_back(
      absl::StrCat(argv0, ".runfiles/faultline/broker/broker"));
  for (const std::string& candidate : candidates) {
    if (Executable(candidate)) return candidate;
  }
  return "";
}

absl::StatusOr<std::string> MakeShortTempDir() {
  char directory[] = "/tmp/fl-bench-XXXXXX";
  if (::mkdtemp(directory) == nullptr) return ErrnoError("mkdtemp");
  return std::string(directory);
}

absl::StatusOr<std::unique_ptr<BrokerChild>> BrokerChild::Start(
    BrokerChildOptions options, std::vector<std::string> extra_args) {
  if (!Executable(options.binary)) {
    return absl::NotFoundError(
        absl::StrCat("broker binary '", options.binary,
                     "' is not executable; pass --broker_binary"));
  }
  const std::string device_dir = options.directory + "/devmem";
  if (::mkdir(device_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("mkdir " + device_dir);
  }
  const std::string socket_path = options.directory + "/broker.sock";
  ChildOptions child_options;
  child_options.log_path = options.directory + "/broker.log";
  child_options.argv = {
      options.binary,
      "--socket=" + socket_path,
      "--device_memory_dir=" + device_dir,
      "--tcp=127.0.0.1:0",
      absl::StrCat("--vm_token=", options.tcp_vm_name, "=",
                   options.tcp_vm_token),
  };
  if (options.worker_threads > 0) {
    child_options.argv.push_back(
        absl::StrCat("--worker_threads=", options.worker_threads));
  }
  child_options.argv.insert(child_options.argv.end(), extra_args.begin(),
                            extra_args.end());
  const std::string& log_path = child_options.log_path;
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> process,
                   ChildProcess::Spawn(child_options));
  std::unique_ptr<BrokerChild> child(
      new BrokerChild(std::move(process), socket_path));
  const absl::Time give_up = absl::Now() + options.ready_deadline;
  while (absl::Now() < give_up) {
    const std::string output = ReadWholeFile(log_path);
    child->tcp_target_ = TcpFromReadyLine(output);
    if (!child->tcp_target_.empty()) return child;
    if (child->process_->Exited()) {
      return absl::InternalError("broker exited before it was ready: " +
                                 output);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "broker printed no ready line with a TCP port within ",
      absl::FormatDuration(options.ready_deadline), "; see ", log_path));
}

}  // namespace faultline::bench
