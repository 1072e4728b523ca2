// Fuzzes the broker whole, through its real gRPC services on a Unix socket:
// each input is a script of requests as serialized protos (Attach, Faults
// stream messages, ResolveFault, Detach and admin calls), played against one
// broker that lives for the whole run. What must hold for any script:
// - the broker neither crashes nor hangs: every fault sent on a live stream
//   is answered, or the stream ends, within kAnswerWait;
// - every call returns (deadlines), and the broker still answers GetStats;
// - after the script detaches what it attached, no session is left.
//
// Script: records of [op byte][length: 2 bytes, little endian][proto bytes].
// To reach deep states, an empty session_id means the last attached session
// (and its token is sent), image paths point at the run's own image file,
// injected delays are capped and stores bounded. Known open defects (issue 12)
// that this target steers around, so it finds new ones: blocking image files
// (2), WriteFrames creating pools (9), stores that only grow (10) and
// WatchFaults (a stream of its own).
#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "broker/server.h"
#include "broker/test_client.h"
#include "proto/faultline/v1/broker.grpc.pb.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

constexpr absl::Duration kAnswerWait = absl::Seconds(20);
constexpr absl::Duration kCallWait = absl::Seconds(20);

enum Op : uint8_t {
  kAttach,
  kStreamOpen,  // a new Faults stream for the last session
  kStreamSend,  // a FaultStreamRequest on the last stream
  kResolve,
  kDetach,
  kGetStats,
  kListSessions,
  kListPools,
  kReadFrames,
  kRevokeFrame,
  kSetInjection,
  kClearInjection,
  kPutPages,
  kListStores,
  kDeleteStore,
  kOpCount,
};

struct Broker {
  std::string dir;
  std::string image_path;
  std::unique_ptr<BrokerServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::FaultBroker::Stub> data;
  std::unique_ptr<v1::BrokerAdmin::Stub> admin;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "broker_fuzzer: %s\n", what.c_str());
  std::abort();
}

Broker& TheBroker() {
  static Broker* broker = [] {
    auto* b = new Broker;
    char dir[] = "/tmp/faultline-broker-fuzz-XXXXXX";
    if (::mkdtemp(dir) == nullptr) Fail("mkdtemp");
    b->dir = dir;
    b->image_path = b->dir + "/image";
    std::ofstream(b->image_path) << std::string(64 * 1024, 'i');
    BrokerOptions options;
    options.socket_path = b->dir + "/broker.sock";
    options.device_memory_dir = b->dir;
    options.worker_threads = 2;
    options.staging_slots = 8;
    options.vm_tokens["tcpvm"] = "sesame";
    auto server = BrokerServer::Start(options);
    if (!server.ok()) Fail(server.status().ToString());
    b->server = *std::move(server);
    b->channel = testing::ConnectUnix(options.socket_path);
    b->data = v1::FaultBroker::NewStub(b->channel);
    b->admin = v1::BrokerAdmin::NewStub(b->channel);
    return b;
  }();
  return *broker;
}

struct Attached {
  std::string id;
  std::string token;
};

struct Stream {
  std::unique_ptr<testing::FaultStreamClient> client;
  std::vector<uint64_t> faults;
};

class Script {
 public:
  explicit Script(Broker& broker) : broker_(broker) {}

  void Play(const uint8_t* data, size_t size) {
    while (size >= 3) {
      const uint8_t op = data[0] % kOpCount;
      size_t length = data[1] | (size_t{data[2]} << 8);
      data += 3;
      size -= 3;
      if (length > size) length = size;
      Run(static_cast<Op>(op),
          std::string(reinterpret_cast<const char*>(data), length));
      data += length;
      size -= length;
    }
    CleanUp();
  }

 private:
  template <typename Message>
  static bool Parse(const std::string& bytes, Message* message) {
    return message->ParseFromString(bytes);
  }

  grpc::ClientContext* Fresh(bool with_token) {
    context_ = std::make_unique<grpc::ClientContext>();
    testing::SetDeadline(context_.get(), kCallWait);
    if (with_token && !sessions_.empty()) {
      context_->AddMetadata(v1::wire::kSessionTokenKey, sessions_.back().token);
    }
    return context_.get();
  }

  // Ours or an id the script names; empty means the last attached.
  void FillSession(std::string* session_id) {
    if (session_id->empty() && !sessions_.empty()) {
      *session_id = sessions_.back().id;
    }
  }

  void Run(Op op, const std::string& bytes) {
    switch (op) {
      case kAttach: {
        v1::AttachRequest request;
        if (!Parse(bytes, &request)) return;
        for (v1::Region& region : *request.mutable_regions()) {
          if (region.source().has_image()) {
            region.mutable_source()->mutable_image()->set_path(
                broker_.image_path);
          }
        }
        v1::AttachResponse response;
        if (broker_.data->Attach(Fresh(false), request, &response).ok()) {
          sessions_.push_back(
              {response.session_id(), response.session_token()});
        }
        return;
      }
      case kStreamOpen: {
        if (sessions_.empty()) return;
        auto client = testing::FaultStreamClient::Open(
            broker_.channel, sessions_.back().id, sessions_.back().token);
        if (client.ok()) streams_.push_back({*std::move(client), {}});
        return;
      }
      case kStreamSend: {
        v1::FaultStreamRequest request;
        if (streams_.empty() || !Parse(bytes, &request)) return;
        if (request.has_open())
          FillSession(request.mutable_open()->mutable_session_id());
        Stream& stream = streams_.back();
        if (!stream.client->Send(request)) return;
        if (request.has_fault())
          stream.faults.push_back(request.fault().fault_id());
        return;
      }
      case kResolve: {
        v1::ResolveFaultRequest request;
        if (!Parse(bytes, &request)) return;
        FillSession(request.mutable_session_id());
        v1::FaultAnswer answer;
        (void)broker_.data->ResolveFault(Fresh(true), request, &answer);
        return;
      }
      case kDetach: {
        v1::DetachRequest request;
        if (!Parse(bytes, &request)) return;
        FillSession(request.mutable_session_id());
        v1::DetachResponse response;
        (void)broker_.data->Detach(Fresh(true), request, &response);
        return;
      }
      case kGetStats: {
        v1::GetStatsRequest request;
        v1::GetStatsResponse response;
        if (!Parse(bytes, &request)) return;
        FillSession(request.mutable_session_id());
        (void)broker_.admin->GetStats(Fresh(false), request, &response);
        return;
      }
      case kListSessions: {
        v1::ListSessionsResponse response;
        (void)broker_.admin->ListSessions(Fresh(false), {}, &response);
        return;
      }
      case kListPools: {
        v1::ListPoolsResponse response;
        (void)broker_.admin->ListPools(Fresh(false), {}, &response);
        return;
      }
      case kReadFrames: {
        v1::ReadFramesRequest request;
        v1::ReadFramesResponse response;
        if (!Parse(bytes, &request)) return;
        (void)broker_.admin->ReadFrames(Fresh(false), request, &response);
        return;
      }
      case kRevokeFrame: {
        v1::RevokeFrameRequest request;
        v1::RevokeFrameResponse response;
        if (!Parse(bytes, &request)) return;
        FillSession(request.mutable_session_id());
        (void)broker_.admin->RevokeFrame(Fresh(false), request, &response);
        return;
      }
      case kSetInjection: {
        v1::InjectionRule rule;
        v1::SetInjectionResponse response;
        if (!Parse(bytes, &rule)) return;
        FillSession(rule.mutable_session_id());
        if (rule.action_case() == v1::InjectionRule::kDelayUs) {
          rule.set_delay_us(rule.delay_us() % 2000);
        }
        (void)broker_.admin->SetInjection(Fresh(false), rule, &response);
        return;
      }
      case kClearInjection: {
        v1::ClearInjectionRequest request;
        v1::ClearInjectionResponse response;
        if (!Parse(bytes, &request)) return;
        (void)broker_.admin->ClearInjection(Fresh(false), request, &response);
        return;
      }
      case kPutPages: {
        v1::PutPagesRequest request;
        if (!Parse(bytes, &request)) return;
        // Stores only grow (defect 10): a few names and offsets keep a
        // long run's memory bounded.
        request.set_store(
            request.store().empty() ? "" : request.store().substr(0, 1));
        request.set_offset(request.offset() % (64 * 4096));
        v1::PutPagesResponse response;
        auto writer = broker_.admin->PutPages(Fresh(false), &response);
        writer->Write(request);
        writer->WritesDone();
        (void)writer->Finish();
        return;
      }
      case kListStores: {
        v1::ListStoresResponse response;
        (void)broker_.admin->ListStores(Fresh(false), {}, &response);
        return;
      }
      case kDeleteStore: {
        v1::DeleteStoreRequest request;
        v1::DeleteStoreResponse response;
        if (!Parse(bytes, &request)) return;
        (void)broker_.admin->DeleteStore(Fresh(false), request, &response);
        return;
      }
      case kOpCount:
        return;
    }
  }

  void CleanUp() {
    // Every fault sent on a stream is answered, or its stream ended.
    for (Stream& stream : streams_) {
      for (uint64_t fault_id : stream.faults) {
        const absl::Time start = absl::Now();
        if (!stream.client->WaitAnswer(fault_id, kAnswerWait).has_value() &&
            absl::Now() - start >= kAnswerWait) {
          Fail("a fault on a live stream got no answer (fault_id " +
               std::to_string(fault_id) + ")");
        }
      }
      (void)stream.client->Finish();
    }
    streams_.clear();
    for (const Attached& session : sessions_) {
      v1::DetachRequest request;
      request.set_session_id(session.id);
      grpc::ClientContext* context = Fresh(false);
      context->AddMetadata(v1::wire::kSessionTokenKey, session.token);
      v1::DetachResponse response;
      (void)broker_.data->Detach(context, request, &response);
    }
    v1::ClearInjectionResponse cleared;
    (void)broker_.admin->ClearInjection(Fresh(false), {}, &cleared);
    v1::ListSessionsResponse listed;
    const grpc::Status status =
        broker_.admin->ListSessions(Fresh(false), {}, &listed);
    if (!status.ok()) Fail("ListSessions failed: " + status.error_message());
    if (listed.sessions_size() != 0) {
      Fail("a session is left after its script detached everything: " +
           listed.sessions(0).ShortDebugString());
    }
  }

  Broker& broker_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::vector<Attached> sessions_;
  std::vector<Stream> streams_;
};

}  // namespace
}  // namespace faultline::broker

// Invalid UTF-8 in string fields is the input's business, not a log line.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  faultline::broker::Script(faultline::broker::TheBroker()).Play(data, size);
  return 0;
}
