#include "broker/admin/put_pages.h"

#include "absl/strings/str_cat.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

using v1::wire::kPageBytes;

class PutPagesStream : public grpc::ServerReadReactor<v1::PutPagesRequest> {
 public:
  PutPagesStream(StoreCalls& calls, grpc::CallbackServerContext* context,
                 v1::PutPagesResponse* response)
      : calls_(calls), context_(context), response_(response) {
    StartRead(&request_);
  }

  // One message at a time: the next read starts only when this message's
  // write is done, so request_ and the counts need no lock.
  void OnReadDone(bool ok) override {
    if (!ok) {
      response_->set_pages_written(pages_written_);
      Finish(grpc::Status::OK);
      return;
    }
    if (absl::Status status = Check(request_); !status.ok()) {
      Fail(status);
      return;
    }
    const absl::Time deadline = StoreCallDeadline(*context_);
    calls_.Run([this, deadline](bool stopped) {
      if (stopped) {
        Fail(absl::UnavailableError("broker is shutting down"));
        return;
      }
      absl::Status status = calls_.backend().Write(store_, request_.offset(),
                                                   request_.data(), deadline);
      if (!status.ok()) {
        Fail(status);
        return;
      }
      pages_written_ += request_.data().size() / kPageBytes;
      StartRead(&request_);
    });
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Check(const v1::PutPagesRequest& request) {
    if (store_.empty()) {
      if (request.store().empty()) {
        return absl::InvalidArgumentError(
            "the first PutPagesRequest must name a store");
      }
      if (absl::Status name = ValidateStoreName(request.store()); !name.ok()) {
        return name;
      }
      store_ = request.store();
    } else if (!request.store().empty() && request.store() != store_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PutPages stream for store ", store_, " names another store (",
          request.store().size(), " bytes)"));
    }
    if (request.data().size() > v1::wire::kMaxPutPagesBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a PutPagesRequest carries at most ", v1::wire::kMaxPutPagesBytes,
          " bytes of pages, not ", request.data().size(),
          "; send them in several messages"));
    }
    return absl::OkStatus();
  }

  // Pages of earlier messages stay stored; the count says how many.
  void Fail(const absl::Status& status) {
    Finish(ToGrpcStatus(absl::Status(
        status.code(), absl::StrCat(status.message(), " (", pages_written_,
                                    " pages were stored before)"))));
  }

  StoreCalls& calls_;
  grpc::CallbackServerContext* const context_;
  v1::PutPagesResponse* const response_;
  v1::PutPagesRequest request_;
  std::string store_;
  uint64_t pages_written_ = 0;
};

}  // namespace

grpc::ServerReadReactor<v1::PutPagesRequest>* NewPutPagesStream(
    StoreCalls& calls, grpc::CallbackServerContext* context,
    v1::PutPagesResponse* response) {
  return new PutPagesStream(calls, context, response);
}

}  // namespace faultline::broker
