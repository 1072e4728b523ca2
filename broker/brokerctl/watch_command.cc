// watch: the live fault feed, as a refreshing table of faults per second by
// session and answer kind, or (--count=N) as N event lines for scripts.
#include <unistd.h>

#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "broker/brokerctl/commands.h"
#include "broker/brokerctl/output.h"

namespace faultline::brokerctl {
namespace {

constexpr const char* kKinds[] = {"page", "zero", "frame", "retry", "error"};

std::string EventLine(const v1::FaultEvent& e) {
  std::string line = absl::StrFormat(
      "%s %-10s region=%u offset=0x%x vcpu=%u attempt=%u -> %s", e.session_id(),
      e.vm_name(), e.fault().region_id(), e.fault().offset(), e.fault().vcpu(),
      e.fault().attempt(), e.answer_kind());
  if (e.answer_kind() == "retry") {
    absl::StrAppend(&line, " (", v1::RetryReason_Name(e.retry_reason()), ")");
  }
  if (e.answer_kind() == "error") {
    absl::StrAppend(&line, " (", v1::ErrorKind_Name(e.error_kind()), ")");
  }
  absl::StrAppend(&line, " ", e.latency_us(), "us");
  return line;
}

// Counts events per (session, vm) and kind over one refresh period.
class RateBoard {
 public:
  void Add(const v1::FaultEvent& e) {
    absl::MutexLock lock(&mu_);
    ++counts_[{e.session_id(), e.vm_name()}][e.answer_kind()];
  }
  void Print(std::ostream& out, double seconds) {
    std::map<std::pair<std::string, std::string>,
             std::map<std::string, uint64_t>>
        counts;
    {
      absl::MutexLock lock(&mu_);
      counts.swap(counts_);
    }
    std::vector<std::string> header = {"SESSION", "VM", "FAULTS/s"};
    for (const char* kind : kKinds) header.push_back(absl::StrCat(kind, "/s"));
    Table table(header);
    for (const auto& [who, kinds] : counts) {
      uint64_t total = 0;
      for (const auto& [kind, n] : kinds) total += n;
      std::vector<std::string> row = {who.first, who.second,
                                      absl::StrFormat("%.0f", total / seconds)};
      for (const char* kind : kKinds) {
        auto it = kinds.find(kind);
        row.push_back(absl::StrFormat(
            "%.0f", it == kinds.end() ? 0.0 : it->second / seconds));
      }
      table.AddRow(row);
    }
    if (::isatty(STDOUT_FILENO) == 1) out << "\x1b[H\x1b[2J";
    out << "faultline watch  (" << absl::FormatTime(absl::Now())
        << ", Ctrl-C to quit)\n";
    table.Print(out);
    if (counts.empty()) out << "(no faults in the last second)\n";
    out << std::flush;
  }

 private:
  absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, std::map<std::string, uint64_t>>
      counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status RunWatch(const Command& command) {
  if (auto s = ExpectArgs(command, 0, 1, "watch [SESSION] [--count=N]");
      !s.ok()) {
    return s;
  }
  v1::WatchFaultsRequest request;
  if (!command.args.empty()) request.set_session_id(command.args[0]);
  grpc::ClientContext context;
  command.client.Authorize(&context);
  const bool counting = command.options.count.has_value();
  if (counting) {
    if (*command.options.count <= 0) {
      return absl::InvalidArgumentError("watch --count must be positive");
    }
    // Scripts get an answer within the timeout even if no fault comes.
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + command.client.timeout()));
  }
  auto reader = command.client.admin().WatchFaults(&context, request);
  v1::FaultEvent event;
  if (counting) {
    int64_t seen = 0;
    while (seen < *command.options.count && reader->Read(&event)) {
      command.out << (command.options.json ? ToJson(event) : EventLine(event))
                  << "\n"
                  << std::flush;
      ++seen;
    }
    const bool enough = seen >= *command.options.count;
    if (enough) context.TryCancel();
    grpc::Status status = reader->Finish();
    if (!enough) {
      if (status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
          !status.ok()) {
        return CallError(command.client, status);
      }
      return absl::DeadlineExceededError(absl::StrCat(
          "saw ", seen, " of ", *command.options.count, " events within ",
          absl::FormatDuration(command.client.timeout()),
          " (--timeout); is anything faulting?"));
    }
    return absl::OkStatus();
  }

  // Live view until interrupted or the broker ends the stream.
  RateBoard board;
  absl::Mutex mu;
  bool ended = false;
  std::thread reader_thread([&] {
    v1::FaultEvent e;
    while (reader->Read(&e)) {
      if (command.options.json) {
        absl::MutexLock lock(&mu);
        command.out << ToJson(e) << "\n" << std::flush;
      } else {
        board.Add(e);
      }
    }
    absl::MutexLock lock(&mu);
    ended = true;
  });
  absl::Time last = absl::Now();
  while (true) {
    {
      absl::MutexLock lock(&mu);
      auto is_ended = [&ended] { return ended; };
      mu.AwaitWithTimeout(absl::Condition(&is_ended), absl::Seconds(1));
      if (ended) break;
    }
    if (!command.options.json) {
      const absl::Time now = absl::Now();
      board.Print(command.out, absl::ToDoubleSeconds(now - last));
      last = now;
    }
  }
  reader_thread.join();
  return CallError(command.client, reader->Finish());
}

}  // namespace faultline::brokerctl
