#include "integration/bench/criu_peer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "integration/bench/child_process.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"

namespace faultline::bench {
namespace {

namespace fs = std::filesystem;

constexpr char kLoopback[] = "127.0.0.1";

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Waits until `path` exists; fails early if `watched` (when given) exits.
absl::Status WaitForFile(const std::string& path, absl::Duration timeout,
                         ChildProcess* watched) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!Exists(path)) {
    if (watched != nullptr && watched->Exited()) {
      return absl::InternalError(absl::StrCat(
          "waiting for ", path, ": ", watched->ExitedCleanly().ToString()));
    }
    if (absl::Now() >= give_up) {
      return absl::DeadlineExceededError(absl::StrCat(
          path, " did not appear within ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return absl::OkStatus();
}

// A TCP port on loopback that nothing listens on now (bound, then closed).
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    absl::Status error = ErrnoError("bind 127.0.0.1:0");
    ::close(fd);
    return error;
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// Whether a socket listens on 127.0.0.1:port (/proc/net/tcp, state 0A).
// Probing with connect() would be taken by the page server as its client.
bool ListensOnLoopback(int port) {
  const std::string wanted = absl::StrFormat("0100007F:%04X", port);
  for (absl::string_view line :
       absl::StrSplit(ReadWholeFile("/proc/net/tcp"), '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() > 3 && words[1] == wanted && words[3] == "0A") {
      return true;
    }
  }
  return false;
}

absl::Status WaitForListener(int port, absl::Duration timeout,
                             ChildProcess* server) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!ListensOnLoopback(port)) {
    if (server->Exited()) return server->ExitedCleanly();
    if (absl::Now() >= give_up) {
      return absl::DeadlineExceededError(
          absl::StrCat("nothing listens on 127.0.0.1:", port));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::OkStatus();
}

// The restoring side of a page-server run gets its own copy of the images:
// restore reads the pages that are not lazy (files' private pages, the
// vDSO) from it, while `criu lazy-pages --page-server` asks the page server
// for every lazy page over TCP.
absl::Status CopyImages(const std::string& from, const std::string& to) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(from, error)) {
    const std::string name = entry.path().filename().string();
    if (!absl::EndsWith(name, ".img")) continue;
    fs::copy_file(entry.path(), fs::path(to) / name, error);
    if (error) break;
  }
  if (error) {
    return absl::InternalError(
        absl::StrCat("copying images to ", to, ": ", error.message()));
  }
  return absl::OkStatus();
}

// CRIU logs to stderr, which goes to `log` (one per step, in the folder).
ChildOptions Criu(const CriuRunOptions& options, const std::string& log,
                  std::vector<std::string> args) {
  ChildOptions child;
  child.argv = {options.criu};
  child.argv.insert(child.argv.end(), args.begin(), args.end());
  child.log_path = log;
  return child;
}

// `status`, with the first "Error (...)" line of CRIU's log when it failed.
absl::Status WithCriuError(absl::Status status, const std::string& log) {
  if (status.ok()) return status;
  for (absl::string_view line : absl::StrSplit(ReadWholeFile(log), '\n')) {
    if (absl::StrContains(line, "Error (")) {
      return absl::Status(status.code(),
                          absl::StrCat(status.message(), "; CRIU: ", line));
    }
  }
  return status;
}

double SecondsSince(absl::Time start) {
  return absl::ToDoubleSeconds(absl::Now() - start);
}

}  // namespace

CriuFaults CountCriuFaults(absl::string_view log, uint64_t region_address,
                           uint64_t region_bytes) {
  CriuFaults faults;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    const size_t at = line.find("#PF at 0x");
    if (at == absl::string_view::npos) continue;
    absl::string_view hex = line.substr(at + 9);
    hex = hex.substr(0, hex.find_first_not_of("0123456789abcdefABCDEF"));
    uint64_t address = 0;
    if (!absl::SimpleHexAtoi(hex, &address)) continue;
    ++faults.total;
    if (address >= region_address && address - region_address < region_bytes) {
      ++faults.in_region;
    }
  }
  return faults;
}

absl::StatusOr<CriuRun> RunCriuOnce(const CriuRunOptions& options) {
  // The restored tree is re-parented to this process, which can then wait
  // for it like a child.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return ErrnoError("prctl(PR_SET_CHILD_SUBREAPER)");
  }
  const std::string run_dir = options.work_dir + "/run";
  const std::string images = options.work_dir + "/images";
  const std::string restore_images = options.mode == CriuMode::kPageServer
                                         ? options.work_dir + "/restore"
                                         : images;
  for (const std::string& dir : {run_dir, images, restore_images}) {
    std::error_code error;
    fs::create_directories(dir, error);
    if (error)
      return absl::InternalError("mkdir " + dir + ": " + error.message());
  }
  const absl::Duration deadline = options.deadline;

  // 1. The workload, init of its own pid namespace, ready to be dumped.
  ChildOptions toucher_options;
  toucher_options.argv = {
      options.toucher, "--dir=" + run_dir,
      absl::StrCat("--region_kib=", options.region_bytes / 1024),
      absl::StrCat("--order=", TouchOrderName(options.order)),
      absl::StrCat("--stride_pages=", options.stride_pages)};
  toucher_options.log_path = options.work_dir + "/toucher.log";
  toucher_options.working_directory = run_dir;
  toucher_options.new_pid_namespace = true;
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> toucher,
                   ChildProcess::Spawn(toucher_options));
  RETURN_IF_ERROR(WaitForFile(run_dir + "/ready", deadline, toucher.get()));

  // 2. Dump (which kills the original), then let the restored copy go.
  CriuRun result;
  absl::Time started = absl::Now();
  RETURN_IF_ERROR(
      WithCriuError(RunChild(Criu(options, images + "/dump.log",
                                  {"dump", "-t", absl::StrCat(toucher->pid()),
                                   "-D", images, "-v4"}),
                             deadline),
                    images + "/dump.log"));
  result.dump_seconds = SecondsSince(started);
  RETURN_IF_ERROR(toucher->Wait(deadline));
  if (int fd = ::open((run_dir + "/go").c_str(), O_WRONLY | O_CREAT, 0644);
      fd >= 0) {
    ::close(fd);
  } else {
    return ErrnoError("create " + run_dir + "/go");
  }

  // 3. The page daemons: lazy-pages, and for a remote run the page server.
  std::unique_ptr<ChildProcess> page_server;
  std::unique_ptr<ChildProcess> lazy_pages;
  if (options.mode == CriuMode::kPageServer) {
    RETURN_IF_ERROR(CopyImages(images, restore_images));
    ASSIGN_OR_RETURN(const int port, FreeLoopbackPort());
    ASSIGN_OR_RETURN(page_server, ChildProcess::Spawn(Criu(
                                      options, images + "/page-server.log",
                                      {"page-server", "--lazy-pages", "-D",
                                       images, "--address", kLoopback, "--port",
                                       absl::StrCat(port), "-v4"})));
    RETURN_IF_ERROR(
        WithCriuError(WaitForListener(port, deadline, page_server.get()),
                      page_server->log_path()));
    ASSIGN_OR_RETURN(
        lazy_pages,
        ChildProcess::Spawn(
            Criu(options, restore_images + "/lazy-pages.log",
                 {"lazy-pages", "--page-server", "--address", kLoopback,
                  "--port", absl::StrCat(port), "-D", restore_images, "-v4"})));
  } else {
    ASSIGN_OR_RETURN(lazy_pages, ChildProcess::Spawn(Criu(
                                     options, images + "/lazy-pages.log",
                                     {"lazy-pages", "-D", images, "-v4"})));
  }
  RETURN_IF_ERROR(
      WithCriuError(WaitForFile(restore_images + "/lazy-pages.socket", deadline,
                                lazy_pages.get()),
                    lazy_pages->log_path()));

  // 4. Lazy restore; the restored toucher starts at once and is adopted.
  const std::string pidfile = options.work_dir + "/restored.pid";
  started = absl::Now();
  RETURN_IF_ERROR(WithCriuError(
      RunChild(Criu(options, restore_images + "/restore.log",
                    {"restore", "-D", restore_images, "-d", "--lazy-pages",
                     "-v4", "--pidfile", pidfile}),
               deadline),
      restore_images + "/restore.log"));
  result.restore_seconds = SecondsSince(started);
  pid_t restored_pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadWholeFile(pidfile)),
                        &restored_pid) ||
      restored_pid <= 0) {
    return absl::InternalError("criu restore wrote no pid to " + pidfile);
  }
  std::unique_ptr<ChildProcess> restored =
      ChildProcess::Adopt(restored_pid, "restored criu_toucher");
  RETURN_IF_ERROR(restored->Wait(deadline));
  if (!restored->ExitedCleanly().ok()) {
    return absl::InternalError(absl::StrCat(
        "the restored toucher failed: ", ReadWholeFile(run_dir + "/error"),
        restored->ExitedCleanly().ToString()));
  }
  ASSIGN_OR_RETURN(result.record,
                   ParseTouchRecord(ReadWholeFile(run_dir + "/record")));
  if (result.record.mismatched_pages != 0) {
    return absl::DataLossError(absl::StrCat(
        result.record.mismatched_pages, " of ", result.record.region_pages,
        " pages restored by CRIU hold the wrong bytes"));
  }

  // 5. The daemons end once every page is transferred.
  RETURN_IF_ERROR(lazy_pages->Wait(deadline));
  RETURN_IF_ERROR(
      WithCriuError(lazy_pages->ExitedCleanly(), lazy_pages->log_path()));
  if (page_server != nullptr) page_server->Stop(absl::Seconds(10));
  result.faults =
      CountCriuFaults(ReadWholeFile(restore_images + "/lazy-pages.log"),
                      result.record.region_address, options.region_bytes);
  // The page images are large; the logs stay for a look afterwards.
  std::error_code ignored;
  for (const std::string& dir : {images, restore_images}) {
    for (const fs::directory_entry& entry :
         fs::directory_iterator(dir, ignored)) {
      if (absl::StartsWith(entry.path().filename().string(), "pages-")) {
        fs::remove(entry.path(), ignored);
      }
    }
  }
  return result;
}

}  // namespace faultline::bench
