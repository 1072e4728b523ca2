#include "integration/bench/stream_load.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "integration/bench/broker_client.h"
#include "proto/base/grpc_status.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/broker.grpc.pb.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::bench {
namespace {

constexpr uint32_t kRegionId = 1;
constexpr uint64_t kRamBase = 0x200000;
constexpr absl::Duration kCallDeadline = absl::Seconds(10);
// How long the stream may outlive `duration` while the last answers arrive.
constexpr absl::Duration kDrainDeadline = absl::Seconds(30);

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Outstanding {
  uint64_t offset = 0;
  uint32_t attempt = 1;
  int64_t first_sent_ns = 0;
};

using Stream =
    grpc::ClientReaderWriter<v1::FaultStreamRequest, v1::FaultStreamResponse>;

bool SendFault(Stream* stream, uint64_t fault_id, const Outstanding& fault) {
  v1::FaultStreamRequest request;
  v1::FaultRequest* asked = request.mutable_fault();
  asked->set_fault_id(fault_id);
  asked->set_region_id(kRegionId);
  asked->set_offset(fault.offset);
  asked->set_access(v1::ACCESS_KIND_READ);
  asked->set_vcpu(0);
  asked->set_attempt(fault.attempt);
  return stream->Write(request);
}

// Zeros when the broker cannot say (the figures are then missing, not
// wrong: the load's own are what the benchmark reports first).
BrokerCounters SessionCounters(const std::string& target,
                               const std::string& session_id) {
  BrokerCounters counters;
  std::unique_ptr<v1::BrokerAdmin::Stub> admin =
      v1::BrokerAdmin::NewStub(MakeChannel(target));
  v1::GetStatsRequest request;
  request.set_session_id(session_id);
  v1::GetStatsResponse stats;
  grpc::ClientContext context;
  SetDeadline(&context, kCallDeadline);
  if (!admin->GetStats(&context, request, &stats).ok() ||
      stats.sessions_size() != 1) {
    return counters;
  }
  const v1::FaultCounters& c = stats.sessions(0).counters();
  counters.p99_us = static_cast<double>(c.latency().p99_us());
  counters.reads_paused = c.reads_paused();
  counters.reasks_throttled = c.reasks_throttled();
  return counters;
}

}  // namespace

absl::StatusOr<StreamLoadResult> RunStreamLoad(
    const StreamLoadOptions& options) {
  std::unique_ptr<v1::FaultBroker::Stub> stub =
      v1::FaultBroker::NewStub(MakeChannel(options.target));
  ASSIGN_OR_RETURN(
      const v1::AttachResponse session,
      Attach(stub.get(), options.vm_name, "",
             {PatternRegion(kRegionId, kRamBase,
                            options.region_pages * v1::wire::kPageBytes, 1)},
             kCallDeadline));
  if (options.after_attach) {
    absl::Status prepared = options.after_attach(session);
    if (!prepared.ok()) {
      (void)Detach(stub.get(), session, kCallDeadline);
      return prepared;
    }
  }

  grpc::ClientContext context;
  SetDeadline(&context, options.duration + kDrainDeadline);
  AddSessionToken(&context, session.session_token());
  std::unique_ptr<Stream> stream = stub->Faults(&context);
  v1::FaultStreamRequest open;
  open.mutable_open()->set_session_id(session.session_id());
  if (!stream->Write(open)) {
    return ToAbslStatus(stream->Finish());
  }

  StreamLoadResult result;
  std::vector<int64_t> samples;
  absl::flat_hash_map<uint64_t, Outstanding> outstanding;
  uint64_t next_fault_id = 1;
  uint64_t next_page = 0;
  auto send_new = [&]() {
    Outstanding fault;
    fault.offset = (next_page++ % options.region_pages) * v1::wire::kPageBytes;
    fault.first_sent_ns = NowNanos();
    const uint64_t id = next_fault_id++;
    outstanding[id] = fault;
    return SendFault(stream.get(), id, fault);
  };
  const int64_t started = NowNanos();
  const int64_t stop_at = started + absl::ToInt64Nanoseconds(options.duration);
  bool writing = true;
  for (uint32_t i = 0; i < options.in_flight && writing; ++i) {
    writing = send_new();
  }
  v1::FaultStreamResponse response;
  while (!outstanding.empty() && stream->Read(&response)) {
    if (!response.has_answer()) continue;
    const v1::FaultAnswer& answer = response.answer();
    auto it = outstanding.find(answer.fault_id());
    if (it == outstanding.end()) continue;
    const bool expired = NowNanos() >= stop_at ||
                         (options.stop != nullptr && options.stop->load());
    if (answer.has_retry()) {
      ++result.retries;
      if (!expired && writing) {
        ++it->second.attempt;
        writing = SendFault(stream.get(), it->first, it->second);
        continue;
      }
      outstanding.erase(it);
      continue;
    }
    if (answer.has_page()) {
      ++result.pages;
      samples.push_back(NowNanos() - it->second.first_sent_ns);
    } else {
      ++result.other;
    }
    outstanding.erase(it);
    if (!expired && writing) writing = send_new();
  }
  result.seconds = static_cast<double>(NowNanos() - started) / 1e9;
  stream->WritesDone();
  context.TryCancel();  // the broker would keep the stream open otherwise
  (void)stream->Finish();
  result.broker = SessionCounters(options.target, session.session_id());
  (void)Detach(stub.get(), session, kCallDeadline);
  if (!outstanding.empty()) {
    return absl::UnavailableError(
        absl::StrCat(options.vm_name, ": the stream ended with ",
                     outstanding.size(), " faults unanswered"));
  }
  result.latency = Summarize(samples);
  return result;
}

}  // namespace faultline::bench
