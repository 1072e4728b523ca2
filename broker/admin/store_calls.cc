#include "broker/admin/store_calls.h"

#include <chrono>

#include "absl/time/clock.h"
#include "proto/base/grpc_status.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

const absl::Status& Stopping() {
  static const absl::Status* const kStopping =
      new absl::Status(absl::UnavailableError("broker is shutting down"));
  return *kStopping;
}

}  // namespace

absl::Time StoreCallDeadline(const grpc::CallbackServerContext& context) {
  const absl::Time longest = absl::Now() + kMaxStoreCallTime;
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return longest;
  return std::min(longest, absl::FromChrono(deadline));
}

StoreCalls::StoreCalls(StoreBackend& backend, int threads) : backend_(backend) {
  if (!backend_.MayBlock()) return;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

StoreCalls::~StoreCalls() { Stop(); }

void StoreCalls::Run(std::function<void(bool stopped)> work) {
  if (threads_.empty()) {
    bool stopped;
    {
      absl::MutexLock lock(&mu_);
      stopped = stopped_;
    }
    work(stopped);
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      queue_.push_back(std::move(work));
      return;
    }
  }
  work(true);
}

void StoreCalls::Loop() {
  while (true) {
    std::function<void(bool)> work;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &StoreCalls::HasWorkOrStopped));
      if (queue_.empty()) return;  // stopped
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work(false);
  }
}

bool StoreCalls::HasWorkOrStopped() const {
  return stopped_ || !queue_.empty();
}

void StoreCalls::Stop() {
  std::deque<std::function<void(bool)>> cancelled;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    cancelled.swap(queue_);
  }
  for (auto& work : cancelled) work(true);
  for (std::thread& thread : threads_) thread.join();
}

grpc::ServerUnaryReactor* StoreCalls::ListStores(
    grpc::CallbackServerContext* context, v1::ListStoresResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time deadline = StoreCallDeadline(*context);
  Run([this, reactor, response, deadline](bool stopped) {
    if (stopped) {
      reactor->Finish(ToGrpcStatus(Stopping()));
      return;
    }
    absl::StatusOr<std::vector<StoreInfo>> stores = backend_.List(deadline);
    if (stores.ok()) {
      for (const StoreInfo& info : *stores) {
        v1::StoreInfo* out = response->add_stores();
        out->set_store(info.name);
        out->set_pages(info.pages);
      }
      response->set_backend(backend_.Describe());
      const StoreLimits& limits = backend_.limits();
      response->set_store_limit_bytes(limits.store_bytes);
      response->set_total_limit_bytes(limits.total_bytes);
      response->set_max_offset(limits.extent_bytes);
    }
    reactor->Finish(ToGrpcStatus(stores.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* StoreCalls::DeleteStore(
    grpc::CallbackServerContext* context, const v1::DeleteStoreRequest* request,
    v1::DeleteStoreResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time deadline = StoreCallDeadline(*context);
  Run([this, reactor, request, response, deadline](bool stopped) {
    if (stopped) {
      reactor->Finish(ToGrpcStatus(Stopping()));
      return;
    }
    absl::StatusOr<uint64_t> pages =
        backend_.Delete(request->store(), deadline);
    if (pages.ok()) response->set_pages_deleted(*pages);
    reactor->Finish(ToGrpcStatus(pages.status()));
  });
  return reactor;
}

}  // namespace faultline::broker
