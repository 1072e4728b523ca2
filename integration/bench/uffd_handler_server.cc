#include "integration/bench/uffd_handler_server.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "absl/time/time.h"
#include "integration/bench/broker_client.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::bench {

UffdHandlerServer::UffdHandlerServer(const vmm::MappedRegion* region)
    : region_(region) {}

UffdHandlerServer::~UffdHandlerServer() { StopHandler(); }

absl::Status UffdHandlerServer::StartHandler() {
  ASSIGN_OR_RETURN(uffd_, vmm::Userfaultfd::Create());
  RETURN_IF_ERROR(
      uffd_->Register(region_->host_base(), region_->spec.size_bytes));
  stop_fd_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd_.valid()) return ErrnoError("eventfd");
  handler_ = std::thread([this] { HandlerLoop(); });
  return absl::OkStatus();
}

void UffdHandlerServer::StopHandler() {
  if (!handler_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  (void)!::write(stop_fd_.get(), &one, sizeof(one));
  handler_.join();
}

ServerCounts UffdHandlerServer::Counts() const {
  ServerCounts counts;
  counts.faults = faults_.load();
  counts.pages = pages_.load();
  counts.retries = retries_.load();
  return counts;
}

absl::Status UffdHandlerServer::failure() const {
  absl::MutexLock lock(&mutex_);
  return failure_;
}

absl::Status UffdHandlerServer::CopyPage(uint64_t offset, const void* page) {
  const uint64_t address =
      reinterpret_cast<uint64_t>(region_->host_base()) + offset;
  absl::Status copied =
      uffd_->Copy(address, page, v1::wire::kPageBytes, /*wake=*/true);
  if (absl::IsAlreadyExists(copied))
    return uffd_->Wake(address, v1::wire::kPageBytes);
  if (copied.ok()) ++pages_;
  return copied;
}

void UffdHandlerServer::HandlerLoop() {
  const uint64_t base = reinterpret_cast<uint64_t>(region_->host_base());
  while (!stopping_) {
    absl::StatusOr<std::vector<vmm::UserFault>> faults =
        uffd_->ReadFaults(absl::Milliseconds(100), stop_fd_.get());
    absl::Status status = faults.status();
    if (status.ok()) {
      for (const vmm::UserFault& fault : *faults) {
        ++faults_;
        status = ServeFault(fault.address - base);
        if (!status.ok()) break;
      }
    }
    if (!status.ok()) {
      absl::MutexLock lock(&mutex_);
      failure_ = status;
      return;
    }
  }
}

}  // namespace faultline::bench
