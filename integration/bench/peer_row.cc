#include "integration/bench/peer_row.h"

#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "integration/bench/criu_peer.h"
#include "integration/bench/fault_path_run.h"
#include "integration/bench/page_server.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::bench {
namespace {

std::vector<uint64_t> Plan(const PeerWorkload& workload) {
  TouchPlanOptions options;
  options.total_pages = workload.region_bytes / v1::wire::kPageBytes;
  options.threads = 1;
  options.order = workload.order;
  options.stride_pages = workload.stride_pages;
  return PagesForThread(options, 0);
}

// The limit and faultline's modes: the server runs in this process and one
// toucher thread touches its region.
class InProcessRow : public PeerRow {
 public:
  InProcessRow(std::string label, ServerSpec spec)
      : label_(std::move(label)), spec_(std::move(spec)) {}

  const std::string& label() const override { return label_; }
  const char* faults_source() const override {
    return spec_.mode == ServeMode::kLocal
               ? "userfaultfd events the handler read"
               : "userfaultfd events the fault engine read";
  }

  absl::StatusOr<PeerRun> RunOnce(const PeerWorkload& workload) override {
    ASSIGN_OR_RETURN(ServedRegion served,
                     ServeRegion(spec_, workload.region_bytes));
    const std::vector<uint64_t> plan = Plan(workload);
    PeerRun run;
    run.pages = served.pages;
    ReserveFirstTouchRun(run.pages, &run.touches);
    absl::Notification done;
    std::thread toucher([&] {
      TouchInOrder(served.base, plan, &run.touches);
      done.Notify();
    });
    const bool finished =
        done.WaitForNotificationWithTimeout(workload.deadline);
    const ServerCounts counts = served.server->Counts();
    const absl::Status failure = served.server->failure();
    // Detaches; a toucher still blocked on a page is released.
    served.server.reset();
    toucher.join();
    RETURN_IF_ERROR(failure);
    if (!finished) {
      return absl::DeadlineExceededError(
          absl::StrCat(label_, ": the toucher did not finish within ",
                       absl::FormatDuration(workload.deadline), " (",
                       counts.faults, " faults served)"));
    }
    if (const uint64_t wrong = MismatchedPages(served.base, run.pages);
        wrong != 0) {
      return absl::DataLossError(absl::StrCat(
          label_, ": ", wrong, " of ", run.pages, " pages hold wrong bytes"));
    }
    run.faults = counts.faults;
    return run;
  }

 private:
  const std::string label_;
  const ServerSpec spec_;
};

class CriuRow : public PeerRow {
 public:
  CriuRow(std::string label, CriuMode mode, const PeerContext& context)
      : label_(std::move(label)), mode_(mode), context_(context) {}

  const std::string& label() const override { return label_; }
  const char* faults_source() const override {
    return "#PF lines in the region, criu lazy-pages -v4 log";
  }

  absl::StatusOr<PeerRun> RunOnce(const PeerWorkload& workload) override {
    CriuRunOptions options;
    options.mode = mode_;
    options.criu = context_.criu;
    options.toucher = context_.toucher;
    options.work_dir = absl::StrCat(
        context_.work_dir, "/criu-", ++runs_, "-",
        mode_ == CriuMode::kPageServer ? "page-server" : "lazy-pages");
    options.region_bytes = workload.region_bytes;
    options.order = workload.order;
    options.stride_pages = workload.stride_pages;
    options.deadline = workload.deadline;
    absl::StatusOr<CriuRun> criu = RunCriuOnce(options);
    if (!criu.ok()) {
      return absl::Status(criu.status().code(),
                          absl::StrCat(label_, " (logs in ", options.work_dir,
                                       "): ", criu.status().message()));
    }
    PeerRun run;
    run.pages = criu->record.region_pages;
    run.touches = std::move(criu->record.run);
    run.faults = criu->faults.in_region;
    run.setup_seconds = criu->dump_seconds + criu->restore_seconds;
    return run;
  }

 private:
  const std::string label_;
  const CriuMode mode_;
  const PeerContext context_;
  int runs_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PeerRow>> MakePeerRow(
    const std::string& label, const PeerContext& context) {
  if (label == kCriuLazyPagesLabel || label == kCriuPageServerLabel) {
    if (context.toucher.empty() || context.work_dir.empty()) {
      return absl::InvalidArgumentError(
          label + " needs the criu_toucher binary and a work folder");
    }
    return std::unique_ptr<PeerRow>(new CriuRow(label,
                                                label == kCriuLazyPagesLabel
                                                    ? CriuMode::kLazyPages
                                                    : CriuMode::kPageServer,
                                                context));
  }
  ServerSpec spec;
  spec.prefetch = context.prefetch;
  if (label == kLimitLabel) {
    spec.mode = ServeMode::kLocal;
    return std::unique_ptr<PeerRow>(new InProcessRow(label, spec));
  }
  const std::vector<std::string> parts = absl::StrSplit(label, '/');
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown row '", label, "' (local, MODE/unix, MODE/tcp, ",
                     kCriuLazyPagesLabel, ", ", kCriuPageServerLabel, ")"));
  }
  ASSIGN_OR_RETURN(spec.mode, ParseServeMode(parts[0]));
  if (spec.mode == ServeMode::kLocal) {
    return absl::InvalidArgumentError("the limit's row is 'local'");
  }
  if (context.broker == nullptr) {
    return absl::InvalidArgumentError(label + " needs a broker");
  }
  if (parts[1] == "unix") {
    spec.target = context.broker->unix_target();
    spec.vm_name = "peer-unix";
  } else if (parts[1] == "tcp" && !UsesStaging(spec.mode)) {
    spec.target = context.broker->tcp_target();
    spec.vm_name = context.tcp_vm_name;
    spec.vm_token = context.tcp_vm_token;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "row '", label, "': transport must be unix or tcp (staging: unix)"));
  }
  return std::unique_ptr<PeerRow>(new InProcessRow(label, spec));
}

}  // namespace faultline::bench
