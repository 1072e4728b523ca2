#include "broker/admin/put_pages.h"

#include "absl/strings/str_cat.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

class PutPagesStream : public grpc::ServerReadReactor<v1::PutPagesRequest> {
 public:
  PutPagesStream(PageStoreRegistry& stores, v1::PutPagesResponse* response)
      : stores_(stores), response_(response) {
    StartRead(&request_);
  }

  // gRPC runs one read reaction at a time, so no lock is needed here.
  void OnReadDone(bool ok) override {
    if (!ok) {
      response_->set_pages_written(pages_written_);
      Finish(grpc::Status::OK);
      return;
    }
    absl::Status status = Store(request_);
    if (!status.ok()) {
      // Pages of earlier messages stay stored; the count says how many.
      Finish(ToGrpcStatus(absl::Status(
          status.code(), absl::StrCat(status.message(), " (", pages_written_,
                                      " pages were stored before)"))));
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Store(const v1::PutPagesRequest& request) {
    if (store_ == nullptr) {
      if (request.store().empty() || request.store().size() > 128) {
        return absl::InvalidArgumentError(
            "the first PutPagesRequest must name a store of 1-128 "
            "characters");
      }
      store_ = stores_.GetOrCreate(request.store());
    } else if (!request.store().empty() && request.store() != store_->name()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PutPages stream for store ", store_->name(),
                       " names another store, ", request.store()));
    }
    absl::Status status = store_->Put(request.offset(), request.data());
    if (!status.ok()) return status;
    pages_written_ += request.data().size() / v1::wire::kPageBytes;
    return absl::OkStatus();
  }

  PageStoreRegistry& stores_;
  v1::PutPagesResponse* const response_;
  v1::PutPagesRequest request_;
  std::shared_ptr<PageStore> store_;
  uint64_t pages_written_ = 0;
};

}  // namespace

grpc::ServerReadReactor<v1::PutPagesRequest>* NewPutPagesStream(
    PageStoreRegistry& stores, v1::PutPagesResponse* response) {
  return new PutPagesStream(stores, response);
}

}  // namespace faultline::broker
