// reconnect_bench: how long the VMM's broker connection (vmm/transport)
// takes to answer again after its broker is SIGKILLed and restarted, on a
// machine loaded by --load_threads spinning threads (issue 12 item 5). Each
// round kills the broker with a fault in flight, starts it again on the same
// Unix socket and measures from the new broker's ready line to that fault's
// answer: the stream breaks, the old session is gone (NOT_FOUND), the VMM
// attaches again, opens a stream and resends. Prints every round, then min,
// median, p90 and max. A round that gets no answer within --round_deadline
// is reported as such, never hidden.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "integration/bench/broker_child.h"
#include "proto/faultline/v1/wire.h"
#include "vmm/transport/broker_transport.h"
#include "vmm/transport/staging_slots.h"
#include "vmm/transport/stream_writer.h"

ABSL_FLAG(std::string, broker_binary, "",
          "path to //broker:broker (default: beside this program in Bazel's "
          "runfiles)");
ABSL_FLAG(int, rounds, 20, "broker restarts to measure");
ABSL_FLAG(int, load_threads, 4,
          "threads that spin for the whole run, so the machine is loaded "
          "(0: only whatever else runs)");
ABSL_FLAG(absl::Duration, round_deadline, absl::Seconds(30),
          "how long a round waits for its answer before it counts as lost");

namespace faultline::bench {
namespace {

// The VM's side: one fault kept in flight and resent on every stream that
// opens until it is answered, as the fault engine does.
class OneFault : public vmm::BrokerTransport::Listener {
public:
  explicit OneFault(vmm::StreamWriter *writer) : writer_(writer) {}

  absl::Status OnAttached(const v1::AttachResponse &) override {
    absl::MutexLock lock(&mu_);
    attached_at_ = absl::Now();
    return absl::OkStatus();
  }
  void OnStreamOpen(uint64_t) override {
    uint64_t id;
    {
      absl::MutexLock lock(&mu_);
      id = pending_;
      opened_at_ = absl::Now();
    }
    if (id != 0)
      Send(id);
  }
  void OnAnswer(const v1::FaultAnswer &answer) override {
    absl::MutexLock lock(&mu_);
    if (answer.fault_id() == pending_) {
      pending_ = 0;
      answered_at_ = absl::Now();
    }
  }
  void OnRevocation(const v1::FrameRevocation &) override {}

  // Puts fault `id` in flight (sent now if a stream is open).
  void Ask(uint64_t id) {
    {
      absl::MutexLock lock(&mu_);
      pending_ = id;
      answered_at_.reset();
    }
    Send(id);
  }
  // When the VM last attached and last opened a stream.
  std::pair<absl::Time, absl::Time> last_attach_and_open() {
    absl::MutexLock lock(&mu_);
    return {attached_at_, opened_at_};
  }
  // When the fault in flight was answered, or nullopt by `deadline`.
  std::optional<absl::Time> WaitAnswer(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithDeadline(
        absl::Condition(
            +[](std::optional<absl::Time> *at) { return at->has_value(); },
            &answered_at_),
        deadline);
    return answered_at_;
  }

private:
  void Send(uint64_t id) {
    v1::FaultStreamRequest request;
    v1::FaultRequest *fault = request.mutable_fault();
    fault->set_fault_id(id);
    fault->set_region_id(1);
    fault->set_offset((id % 16) * v1::wire::kPageBytes);
    writer_->Send(request); // 0: resent by OnStreamOpen
  }

  vmm::StreamWriter *const writer_;
  absl::Mutex mu_;
  uint64_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<absl::Time> answered_at_ ABSL_GUARDED_BY(mu_);
  absl::Time attached_at_ ABSL_GUARDED_BY(mu_);
  absl::Time opened_at_ ABSL_GUARDED_BY(mu_);
};

v1::Region PatternRegion() {
  v1::Region region;
  region.set_region_id(1);
  region.set_kind(v1::REGION_KIND_RAM);
  region.set_guest_physical_base(0);
  region.set_size_bytes(16 * v1::wire::kPageBytes);
  region.set_page_size(v1::wire::kPageBytes);
  region.mutable_source()->mutable_pattern()->set_seed(7);
  return region;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

int Run(const std::string &binary) {
  absl::StatusOr<std::string> dir = MakeShortTempDir();
  if (!dir.ok()) {
    std::fprintf(stderr, "reconnect_bench: %s\n",
                 std::string(dir.status().message()).c_str());
    return 1;
  }
  BrokerChildOptions broker_options;
  broker_options.binary = binary;
  broker_options.directory = *dir;
  broker_options.tcp_vm_name = "unused";
  broker_options.tcp_vm_token = "unused-token";
  absl::StatusOr<std::unique_ptr<BrokerChild>> broker =
      BrokerChild::Start(broker_options);
  if (!broker.ok()) {
    std::fprintf(stderr, "reconnect_bench: %s\n",
                 std::string(broker.status().message()).c_str());
    return 1;
  }

  std::atomic<bool> loading{true};
  std::vector<std::thread> load;
  for (int i = 0; i < absl::GetFlag(FLAGS_load_threads); ++i) {
    load.emplace_back([&loading] {
      volatile uint64_t spins = 0;
      while (loading.load(std::memory_order_relaxed))
        spins = spins + 1;
    });
  }

  vmm::StagingSlots slots;
  vmm::StreamWriter writer(&slots);
  OneFault vm(&writer);
  vmm::BrokerTransport::Options options;
  options.session.target = (*broker)->unix_target();
  options.session.vm_name = "reconnect-bench";
  options.session.regions = {PatternRegion()};
  options.staging = vmm::BrokerTransport::Staging::kOff;
  absl::StatusOr<std::unique_ptr<vmm::BrokerTransport>> transport =
      vmm::BrokerTransport::Connect(options, &vm, &writer);
  if (!transport.ok()) {
    std::fprintf(stderr, "reconnect_bench: %s\n",
                 std::string(transport.status().message()).c_str());
    loading = false;
    for (std::thread &t : load)
      t.join();
    return 1;
  }

  const absl::Duration round_deadline = absl::GetFlag(FLAGS_round_deadline);
  std::printf("reconnect_bench: %d rounds, %d load threads, %u cores\n",
              absl::GetFlag(FLAGS_rounds), absl::GetFlag(FLAGS_load_threads),
              std::thread::hardware_concurrency());
  std::vector<double> times_ms;
  int lost = 0;
  uint64_t next_id = 1;
  for (int round = 1; round <= absl::GetFlag(FLAGS_rounds); ++round) {
    // A fault answered first: the stream is live before the kill.
    vm.Ask(next_id++);
    if (!vm.WaitAnswer(absl::Now() + round_deadline).has_value()) {
      std::printf("round %d: no answer before the kill\n", round);
      ++lost;
      continue;
    }
    (*broker)->Kill();
    vm.Ask(next_id++); // in flight while the broker is down
    broker = BrokerChild::Start(broker_options);
    if (!broker.ok()) {
      std::fprintf(stderr, "reconnect_bench: restart: %s\n",
                   std::string(broker.status().message()).c_str());
      break;
    }
    const absl::Time back = absl::Now();
    const std::optional<absl::Time> answered =
        vm.WaitAnswer(back + round_deadline);
    if (!answered.has_value()) {
      std::printf("round %d: no answer within %s of the broker's return\n",
                  round, absl::FormatDuration(round_deadline).c_str());
      ++lost;
      continue;
    }
    times_ms.push_back(Ms(*answered - back));
    const auto [attached, opened] = vm.last_attach_and_open();
    std::printf(
        "round %d: broker back -> first answer %.1f ms (attached again at "
        "%+.1f ms, stream open at %+.1f ms)\n",
        round, times_ms.back(), Ms(attached - back), Ms(opened - back));
  }
  (*transport)->Shutdown();
  loading = false;
  for (std::thread &t : load)
    t.join();

  std::sort(times_ms.begin(), times_ms.end());
  if (times_ms.empty()) {
    std::printf("reconnect: no round answered (%d without an answer)\n", lost);
    return 1;
  }
  auto at = [&](double q) {
    return times_ms[std::min(times_ms.size() - 1,
                             static_cast<size_t>(q * times_ms.size()))];
  };
  std::printf(
      "reconnect (broker back -> first answer), %zu rounds: min %.1f ms, "
      "median %.1f ms, p90 %.1f ms, max %.1f ms; %d rounds without an "
      "answer\n",
      times_ms.size(), times_ms.front(), at(0.5), at(0.9), times_ms.back(),
      lost);
  return 0;
}

} // namespace
} // namespace faultline::bench

int main(int argc, char **argv) {
  absl::ParseCommandLine(argc, argv);
  std::string binary = absl::GetFlag(FLAGS_broker_binary);
  if (binary.empty())
    binary = faultline::bench::FindBrokerInRunfiles(argv[0]);
  return faultline::bench::Run(binary);
}
