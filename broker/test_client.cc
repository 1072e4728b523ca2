#include "broker/test_client.h"

#include "absl/time/clock.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker::testing {

std::shared_ptr<grpc::Channel> ConnectUnix(const std::string& socket_path) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(80 << 20);
  args.SetMaxSendMessageSize(80 << 20);
  return grpc::CreateCustomChannel("unix:" + socket_path,
                                   grpc::InsecureChannelCredentials(), args);
}

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

v1::Region PatternRegion(uint32_t id, uint64_t base, uint64_t pages,
                         uint64_t seed) {
  v1::Region region;
  region.set_region_id(id);
  region.set_name("ram" + std::to_string(id));
  region.set_kind(v1::REGION_KIND_RAM);
  region.set_guest_physical_base(base);
  region.set_size_bytes(pages * 4096);
  region.set_page_size(4096);
  region.mutable_source()->mutable_pattern()->set_seed(seed);
  return region;
}

v1::Region DeviceRegion(uint32_t id, uint64_t base, uint64_t pages,
                        const std::string& pool, uint64_t frames,
                        v1::FramePolicy policy, v1::Sharing sharing) {
  v1::Region region;
  region.set_region_id(id);
  region.set_name("bar" + std::to_string(id));
  region.set_kind(v1::REGION_KIND_DEVICE_MEMORY);
  region.set_guest_physical_base(base);
  region.set_size_bytes(pages * 4096);
  region.set_page_size(4096);
  v1::DeviceSource* device = region.mutable_source()->mutable_device();
  device->set_pool(pool);
  device->set_frame_count(frames);
  device->set_policy(policy);
  device->set_sharing(sharing);
  return region;
}

absl::StatusOr<std::unique_ptr<FaultStreamClient>> FaultStreamClient::Open(
    std::shared_ptr<grpc::Channel> channel, const std::string& session_id,
    const std::string& token, uint64_t ring_generation) {
  std::unique_ptr<FaultStreamClient> client(new FaultStreamClient);
  client->stub_ = v1::FaultBroker::NewStub(channel);
  client->context_.AddMetadata(v1::wire::kSessionTokenKey, token);
  SetDeadline(&client->context_, absl::Seconds(120));
  client->stream_ = client->stub_->Faults(&client->context_);
  v1::FaultStreamRequest open;
  open.mutable_open()->set_session_id(session_id);
  open.mutable_open()->set_fault_ring_generation(ring_generation);
  if (!client->stream_->Write(open)) {
    return absl::UnavailableError("could not write StreamOpen");
  }
  client->reader_ = std::thread([c = client.get()] { c->ReadLoop(); });
  return client;
}

FaultStreamClient::~FaultStreamClient() {
  if (!finished_) {
    context_.TryCancel();
    Finish();
  }
}

void FaultStreamClient::ReadLoop() {
  v1::FaultStreamResponse response;
  while (stream_->Read(&response)) {
    absl::MutexLock lock(&mu_);
    if (response.has_answer()) {
      answers_[response.answer().fault_id()] = response.answer();
      answer_order_.push_back(response.answer().fault_id());
    } else if (response.has_revocation()) {
      revocations_.push_back(response.revocation());
    }
  }
  absl::MutexLock lock(&mu_);
  ended_ = true;
}

std::vector<uint64_t> FaultStreamClient::AnswerOrder() {
  absl::MutexLock lock(&mu_);
  return answer_order_;
}

bool FaultStreamClient::Send(const v1::FaultStreamRequest& request) {
  absl::MutexLock lock(&write_mu_);
  return stream_->Write(request);
}

bool FaultStreamClient::SendFault(uint64_t fault_id, uint32_t region_id,
                                  uint64_t offset, uint32_t prefetch_hint) {
  v1::FaultStreamRequest request;
  v1::FaultRequest* fault = request.mutable_fault();
  fault->set_fault_id(fault_id);
  fault->set_region_id(region_id);
  fault->set_offset(offset);
  fault->set_access(v1::ACCESS_KIND_READ);
  fault->set_attempt(1);
  fault->set_prefetch_hint(prefetch_hint);
  return Send(request);
}

std::optional<v1::FaultAnswer> FaultStreamClient::WaitAnswer(
    uint64_t fault_id, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto has_answer = [this, fault_id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ended_ || answers_.count(fault_id) != 0;
  };
  mu_.AwaitWithTimeout(absl::Condition(&has_answer), timeout);
  auto it = answers_.find(fault_id);
  if (it == answers_.end()) return std::nullopt;
  return it->second;
}

std::optional<v1::FrameRevocation> FaultStreamClient::WaitRevocation(
    absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto has_one = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ended_ || !revocations_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&has_one), timeout);
  if (revocations_.empty()) return std::nullopt;
  v1::FrameRevocation revocation = revocations_.front();
  revocations_.erase(revocations_.begin());
  return revocation;
}

bool FaultStreamClient::WaitEnded(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&ended_), timeout);
  return ended_;
}

grpc::Status FaultStreamClient::Finish() {
  finished_ = true;
  {
    absl::MutexLock lock(&write_mu_);
    stream_->WritesDone();
  }
  if (reader_.joinable()) reader_.join();
  return stream_->Finish();
}

}  // namespace faultline::broker::testing
