// The workload in a process of its own, for peers that serve another
// process's memory (CRIU's lazy pages): it maps the region, fills it with
// the pattern, makes its plan, says "ready" and waits for "go" in its
// folder. The harness dumps it meanwhile (CRIU kills the original) and
// creates "go" before the lazy restore, so the restored copy starts
// touching at once. It then times every first touch, checks every page and
// writes "record" (touch_record.h). Errors go to "error" in the folder,
// since its output is /dev/null while it may be dumped.
//
// Run it as init of its own pid namespace (child_process.h), in a session
// of its own (it calls setsid), from a writable folder: CRIU's parasite
// mounts a private /proc in the task's working folder.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "integration/bench/first_touch.h"
#include "integration/bench/touch_plan.h"
#include "integration/bench/touch_record.h"
#include "proto/pattern.h"

ABSL_FLAG(std::string, dir, "", "folder for ready, go, record and error");
ABSL_FLAG(int, region_kib, 65536, "region size, KiB (whole pages)");
ABSL_FLAG(std::string, order, "sequential", "sequential, strided, random");
ABSL_FLAG(int, stride_pages, 64, "stride of the strided order");
ABSL_FLAG(absl::Duration, go_deadline, absl::Minutes(10),
          "longest to wait for go before giving up");

namespace faultline::bench {
namespace {

// Writes `text` to DIR/NAME through a temporary name, so the harness never
// reads half a file.
bool WriteFileAtomically(const std::string& dir, const std::string& name,
                         const std::string& text) {
  const std::string temporary = dir + "/." + name;
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return ::close(fd) == 0 &&
         ::rename(temporary.c_str(), (dir + "/" + name).c_str()) == 0;
}

int Fail(const std::string& dir, const std::string& why) {
  std::fprintf(stderr, "criu_toucher: %s\n", why.c_str());
  WriteFileAtomically(dir, "error", why + "\n");
  return 1;
}

int Run() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) {
    std::fprintf(stderr, "criu_toucher: --dir is required\n");
    return 2;
  }
  const uint64_t region_bytes =
      uint64_t{1024} * static_cast<uint64_t>(absl::GetFlag(FLAGS_region_kib));
  absl::StatusOr<TouchOrder> order =
      ParseTouchOrder(absl::GetFlag(FLAGS_order));
  if (!order.ok()) return Fail(dir, std::string(order.status().message()));
  if (region_bytes == 0 || region_bytes % pattern::kPageBytes != 0) {
    return Fail(dir, "--region_kib must be a positive multiple of 4");
  }
  if (::setsid() < 0 && ::getsid(0) != ::getpid()) {
    return Fail(dir, "setsid failed");
  }
  void* mapped = ::mmap(nullptr, region_bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return Fail(dir, "mmap of the region failed");
  auto* base = static_cast<uint8_t*>(mapped);
  const uint64_t pages = region_bytes / pattern::kPageBytes;
  FillPattern(base, pages);

  // Everything the touch loop needs exists before the dump.
  TouchPlanOptions plan_options;
  plan_options.total_pages = pages;
  plan_options.threads = 1;
  plan_options.order = *order;
  plan_options.stride_pages =
      static_cast<uint64_t>(absl::GetFlag(FLAGS_stride_pages));
  const std::vector<uint64_t> plan = PagesForThread(plan_options, 0);
  TouchRecord record;
  record.region_address = reinterpret_cast<uint64_t>(base);
  record.region_pages = pages;
  ReserveFirstTouchRun(pages, &record.run);

  // No open files but /dev/null across the dump.
  const int null = ::open("/dev/null", O_RDWR);
  if (null < 0) return Fail(dir, "open /dev/null failed");
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
  if (null > 2) ::close(null);
  if (!WriteFileAtomically(dir, "ready", "ready\n")) {
    return Fail(dir, "cannot write ready");
  }
  const std::string go = dir + "/go";
  const absl::Time give_up = absl::Now() + absl::GetFlag(FLAGS_go_deadline);
  while (::access(go.c_str(), F_OK) != 0) {
    if (absl::Now() >= give_up) return Fail(dir, "no go file in time");
    absl::SleepFor(absl::Milliseconds(1));
  }

  TouchInOrder(base, plan, &record.run);
  record.mismatched_pages = MismatchedPages(base, pages);
  if (!WriteFileAtomically(dir, "record", FormatTouchRecord(record))) {
    return Fail(dir, "cannot write record");
  }
  return 0;
}

}  // namespace
}  // namespace faultline::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The side-by-side workload in its own process, for CRIU's lazy "
      "pages: criu_toucher --dir=DIR --region_kib=N --order=ORDER");
  absl::ParseCommandLine(argc, argv);
  return faultline::bench::Run();
}
