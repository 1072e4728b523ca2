#include "vmm/testing/fake_broker.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/base/errno_status.h"
#include "proto/base/grpc_status.h"
#include "proto/base/unique_fd.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::vmm {
namespace {

namespace wire = ::faultline::v1::wire;

constexpr char kSessionId[] = "fake-session";

absl::Status WritePage(const std::string& path, uint64_t index,
                       const std::string& page) {
  if (page.size() != wire::kPageBytes) {
    return absl::InvalidArgumentError("a page is 4096 bytes");
  }
  UniqueFd file(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!file.valid()) return ErrnoError("open " + path);
  const off_t at = static_cast<off_t>(index * wire::kPageBytes);
  if (::pwrite(file.get(), page.data(), page.size(), at) !=
      static_cast<ssize_t>(page.size())) {
    return ErrnoError("pwrite " + path);
  }
  return absl::OkStatus();
}

absl::Status MakeFile(const std::string& path, uint64_t pages) {
  UniqueFd file(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!file.valid()) return ErrnoError("create " + path);
  if (::ftruncate(file.get(), static_cast<off_t>(pages * wire::kPageBytes)) !=
      0) {
    return ErrnoError("ftruncate " + path);
  }
  return absl::OkStatus();
}

}  // namespace

class FakeBroker::Service : public v1::FaultBroker::Service {
 public:
  explicit Service(FakeBroker* broker) : broker_(broker) {}

  grpc::Status Attach(grpc::ServerContext*, const v1::AttachRequest* request,
                      v1::AttachResponse* response) override {
    {
      absl::MutexLock lock(&broker_->mutex_);
      ++broker_->attaches_;
    }
    if (!broker_->options_.attach_error.ok()) {
      return ToGrpcStatus(broker_->options_.attach_error);
    }
    response->set_session_id(kSessionId);
    response->set_session_token(kToken);
    for (const v1::Region& region : request->regions()) {
      if (region.kind() != v1::REGION_KIND_DEVICE_MEMORY) continue;
      const std::string path = broker_->DevicePath(region.region_id());
      if (!std::filesystem::exists(path) &&
          !MakeFile(path, broker_->options_.device_frames).ok()) {
        return grpc::Status(grpc::StatusCode::INTERNAL, "no device file");
      }
      v1::RegionGrant* grant = response->add_regions();
      grant->set_region_id(region.region_id());
      grant->set_device_memory_path(path);
      grant->set_device_frame_count(broker_->options_.device_frames);
    }
    if (request->want_staging() && broker_->options_.staging_slots > 0) {
      v1::StagingArea* area = response->mutable_staging();
      area->set_path(broker_->directory_ + "/staging");
      area->set_slot_count(broker_->options_.staging_slots);
      area->set_slot_size(wire::kPageBytes);
    }
    return grpc::Status::OK;
  }

  grpc::Status Detach(grpc::ServerContext* context, const v1::DetachRequest*,
                      v1::DetachResponse*) override {
    CheckToken(context);
    absl::MutexLock lock(&broker_->mutex_);
    ++broker_->detaches_;
    return grpc::Status::OK;
  }

  grpc::Status ResolveFault(grpc::ServerContext* context,
                            const v1::ResolveFaultRequest* request,
                            v1::FaultAnswer* answer) override {
    CheckToken(context);
    for (const v1::FaultStreamResponse& message : Answer(request->fault())) {
      if (message.has_answer()) {
        *answer = message.answer();
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the script is silent");
  }

  grpc::Status Faults(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::FaultStreamResponse, v1::FaultStreamRequest>*
          stream) override {
    CheckToken(context);
    v1::FaultStreamRequest request;
    if (!stream->Read(&request) || !request.has_open()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no open");
    }
    size_t index;
    {
      absl::MutexLock lock(&broker_->mutex_);
      broker_->streams_.emplace_back();
      index = broker_->streams_.size() - 1;
      broker_->stream_ = stream;
      broker_->stream_context_ = context;
      broker_->break_stream_ = false;
    }
    while (stream->Read(&request)) {
      {
        absl::MutexLock lock(&broker_->mutex_);
        StreamLog& log = broker_->streams_[index];
        for (uint32_t slot : request.released_staging_slots()) {
          log.released_slots.push_back(slot);
        }
        if (request.has_fault()) log.faults.push_back(request.fault());
        if (request.has_revocation_done()) {
          log.revocations_done.push_back(
              request.revocation_done().revocation_id());
        }
      }
      if (!request.has_fault()) continue;
      for (const v1::FaultStreamResponse& message : Answer(request.fault())) {
        absl::MutexLock write_lock(&broker_->write_mutex_);
        stream->Write(message);
      }
    }
    absl::MutexLock lock(&broker_->mutex_);
    if (broker_->stream_ == stream) {
      broker_->stream_ = nullptr;
      broker_->stream_context_ = nullptr;
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream ended");
  }

 private:
  std::vector<v1::FaultStreamResponse> Answer(const v1::FaultRequest& fault) {
    Script script;
    {
      absl::MutexLock lock(&broker_->mutex_);
      script = broker_->script_;
    }
    if (!script) return {};
    return script(fault);
  }

  void CheckToken(grpc::ServerContext* context) {
    const auto& metadata = context->client_metadata();
    auto token = metadata.find(wire::kSessionTokenKey);
    if (token == metadata.end() || token->second != kToken) {
      absl::MutexLock lock(&broker_->mutex_);
      ++broker_->calls_without_token_;
    }
  }

  FakeBroker* const broker_;
};

FakeBroker::FakeBroker(Options options, std::string directory)
    : options_(std::move(options)), directory_(std::move(directory)) {}

absl::StatusOr<std::unique_ptr<FakeBroker>> FakeBroker::Start(Options options) {
  char directory[] = "/tmp/fl-fake-broker-XXXXXX";
  if (::mkdtemp(directory) == nullptr) return ErrnoError("mkdtemp");
  std::unique_ptr<FakeBroker> broker(
      new FakeBroker(std::move(options), directory));
  if (broker->options_.staging_slots > 0) {
    absl::Status made = MakeFile(broker->directory_ + "/staging",
                                 broker->options_.staging_slots);
    if (!made.ok()) return made;
  }
  broker->service_ = std::make_unique<Service>(broker.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(broker->target(), grpc::InsecureServerCredentials());
  builder.RegisterService(broker->service_.get());
  broker->server_ = builder.BuildAndStart();
  if (broker->server_ == nullptr) {
    return absl::InternalError("cannot serve on " + broker->target());
  }
  return broker;
}

FakeBroker::~FakeBroker() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string FakeBroker::DevicePath(uint32_t region_id) const {
  return absl::StrCat(directory_, "/device-", region_id);
}

void FakeBroker::set_script(Script script) {
  absl::MutexLock lock(&mutex_);
  script_ = std::move(script);
}

absl::Status FakeBroker::StageSlot(uint32_t slot, const std::string& page) {
  if (slot >= options_.staging_slots) {
    return absl::OutOfRangeError("no such staging slot");
  }
  return WritePage(directory_ + "/staging", slot, page);
}

absl::Status FakeBroker::WriteFrame(uint32_t region_id, uint64_t frame,
                                    const std::string& page) {
  return WritePage(DevicePath(region_id), frame, page);
}

bool FakeBroker::Push(const v1::FaultStreamResponse& message) {
  absl::MutexLock write_lock(&write_mutex_);
  grpc::ServerReaderWriter<v1::FaultStreamResponse, v1::FaultStreamRequest>*
      stream;
  {
    absl::MutexLock lock(&mutex_);
    stream = stream_;
  }
  return stream != nullptr && stream->Write(message);
}

void FakeBroker::BreakStream() {
  absl::MutexLock lock(&mutex_);
  if (stream_context_ != nullptr) stream_context_->TryCancel();
}

bool FakeBroker::WaitFor(
    const std::function<bool(const std::vector<StreamLog>&)>& done,
    absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  for (;;) {
    {
      absl::MutexLock lock(&mutex_);
      if (done(streams_)) return true;
    }
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

std::vector<FakeBroker::StreamLog> FakeBroker::streams() const {
  absl::MutexLock lock(&mutex_);
  return streams_;
}

int FakeBroker::attaches() const {
  absl::MutexLock lock(&mutex_);
  return attaches_;
}

int FakeBroker::detaches() const {
  absl::MutexLock lock(&mutex_);
  return detaches_;
}

int FakeBroker::calls_without_token() const {
  absl::MutexLock lock(&mutex_);
  return calls_without_token_;
}

}  // namespace faultline::vmm
