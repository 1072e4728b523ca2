// Fault throughput and latency through an in-process broker over its Unix
// socket: pattern pages on one Faults stream with a window of faults in
// flight, and single ResolveFault calls (p50 latency). Prints figures; it
// asserts nothing about speed.
//   bazel run -c opt //broker:broker_benchmark
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "broker/server.h"
#include "broker/test_client.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

using testing::ConnectUnix;
using testing::FaultStreamClient;
using testing::PatternRegion;
using testing::SetDeadline;

constexpr uint64_t kPages = 1 << 16;  // 256 MiB region.

struct Fixture {
  Fixture() {
    char dir_template[] = "/tmp/faultline-broker-bench-XXXXXX";
    dir = ::mkdtemp(dir_template);
    BrokerOptions options;
    options.socket_path = dir + "/broker.sock";
    options.device_memory_dir = dir + "/pools";
    options.max_faults_in_flight = 4096;
    server = *BrokerServer::Start(options);
    channel = ConnectUnix(options.socket_path);
    v1::AttachRequest request;
    request.set_protocol_version(v1::wire::kProtocolVersion);
    request.set_vm_name("bench");
    *request.add_regions() = PatternRegion(1, 0, kPages, 1);
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status =
        v1::FaultBroker::NewStub(channel)->Attach(&context, request, &attached);
    if (!status.ok()) std::abort();
  }
  ~Fixture() {
    server.reset();
    std::filesystem::remove_all(dir);
  }
  std::string dir;
  std::unique_ptr<BrokerServer> server;
  std::shared_ptr<grpc::Channel> channel;
  v1::AttachResponse attached;
};

// Created by the first benchmark, destroyed by main() after the last one.
std::unique_ptr<Fixture> shared_fixture;

Fixture& SharedFixture() {
  if (shared_fixture == nullptr) shared_fixture = std::make_unique<Fixture>();
  return *shared_fixture;
}

// Keeps state.range(0) faults in flight on one stream.
void BM_StreamPagesInFlight(benchmark::State& state) {
  Fixture& f = SharedFixture();
  auto stream = *FaultStreamClient::Open(f.channel, f.attached.session_id(),
                                         f.attached.session_token());
  const uint64_t window = state.range(0);
  uint64_t sent = 0, answered = 0;
  static uint64_t next_id = 1;
  const uint64_t first_id = next_id;
  for (auto _ : state) {
    while (sent - answered < window) {
      stream->SendFault(first_id + sent, 1,
                        (sent % kPages) * v1::wire::kPageBytes);
      ++sent;
    }
    if (!stream->WaitAnswer(first_id + answered, absl::Seconds(30))) {
      state.SkipWithError("no answer within 30s");
      break;
    }
    ++answered;
  }
  while (answered < sent) {
    stream->WaitAnswer(first_id + answered, absl::Seconds(30));
    ++answered;
  }
  next_id = first_id + sent;
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * v1::wire::kPageBytes);
  stream->Finish();
}
BENCHMARK(BM_StreamPagesInFlight)
    ->Arg(1)
    ->Arg(8)
    ->Arg(32)
    ->Arg(128)
    ->UseRealTime();

// One unary ResolveFault for the fixture's session, page `page` (wrapping).
bool ResolveOnce(Fixture& f, v1::FaultBroker::Stub* stub, uint64_t page) {
  v1::ResolveFaultRequest request;
  request.set_session_id(f.attached.session_id());
  request.mutable_fault()->set_fault_id(page);
  request.mutable_fault()->set_region_id(1);
  request.mutable_fault()->set_offset((page % kPages) * v1::wire::kPageBytes);
  v1::FaultAnswer answer;
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata(v1::wire::kSessionTokenKey, f.attached.session_token());
  return stub->ResolveFault(&context, request, &answer).ok();
}

void BM_ResolveFaultLatency(benchmark::State& state) {
  Fixture& f = SharedFixture();
  auto stub = v1::FaultBroker::NewStub(f.channel);
  uint64_t page = 0;
  for (auto _ : state) {
    if (!ResolveOnce(f, stub.get(), page++)) {
      state.SkipWithError("ResolveFault failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResolveFaultLatency)->UseRealTime();

// The quiet VM's ResolveFault latency, alone (arg 0) and while another
// session keeps 512 faults in flight on its stream (arg 1): p50 and p99 are
// reported as counters, so the two runs show what the storm costs.
void BM_QuietSessionUnderStorm(benchmark::State& state) {
  Fixture& f = SharedFixture();
  std::atomic<bool> storming{state.range(0) != 0};
  std::thread storm;
  if (storming) {
    storm = std::thread([&] {
      v1::AttachRequest request;
      request.set_protocol_version(v1::wire::kProtocolVersion);
      request.set_vm_name("storm");
      *request.add_regions() = PatternRegion(1, 0, kPages, 2);
      v1::AttachResponse attached;
      grpc::ClientContext context;
      SetDeadline(&context);
      if (!v1::FaultBroker::NewStub(f.channel)
               ->Attach(&context, request, &attached)
               .ok()) {
        return;
      }
      auto stream = *FaultStreamClient::Open(f.channel, attached.session_id(),
                                             attached.session_token());
      uint64_t sent = 0, answered = 0;
      while (storming) {
        while (sent - answered < 512) {
          stream->SendFault(sent, 1, (sent % kPages) * v1::wire::kPageBytes);
          ++sent;
        }
        if (!stream->WaitAnswer(answered, absl::Seconds(30))) break;
        ++answered;
      }
      stream->Finish();
    });
  }
  auto stub = v1::FaultBroker::NewStub(f.channel);
  std::vector<int64_t> latencies_us;
  uint64_t page = 0;
  for (auto _ : state) {
    const absl::Time start = absl::Now();
    if (!ResolveOnce(f, stub.get(), page++)) {
      state.SkipWithError("ResolveFault failed");
      break;
    }
    latencies_us.push_back(absl::ToInt64Microseconds(absl::Now() - start));
  }
  storming = false;
  if (storm.joinable()) storm.join();
  if (!latencies_us.empty()) {
    std::sort(latencies_us.begin(), latencies_us.end());
    state.counters["p50_us"] = latencies_us[latencies_us.size() / 2];
    state.counters["p99_us"] = latencies_us[latencies_us.size() * 99 / 100];
  }
}
BENCHMARK(BM_QuietSessionUnderStorm)->Arg(0)->Arg(1)->UseRealTime();

void ReleaseFixture() { shared_fixture.reset(); }

}  // namespace
}  // namespace faultline::broker

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  faultline::broker::ReleaseFixture();
  return 0;
}
