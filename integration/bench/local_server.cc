// The limit: an in-process handler that answers every fault with UFFDIO_COPY
// from a copy of the region's content it already holds (the same pattern
// the broker would serve), so only the kernel's fault path is measured.
#include <vector>

#include "integration/bench/broker_client.h"
#include "integration/bench/page_server.h"
#include "integration/bench/uffd_handler_server.h"
#include "proto/base/status_macros.h"
#include "proto/faultline/v1/wire.h"
#include "proto/pattern.h"

namespace faultline::bench {
namespace {

class LocalServer : public UffdHandlerServer {
 public:
  static absl::StatusOr<std::unique_ptr<PageServer>> Start(
      const vmm::GuestMemory* memory, const v1::Region& attached) {
    const vmm::MappedRegion* region = memory->FindRegion(attached.region_id());
    if (region == nullptr) return absl::InvalidArgumentError("no region 1");
    std::unique_ptr<LocalServer> server(new LocalServer(region));
    server->FillContent(attached);
    RETURN_IF_ERROR(server->StartHandler());
    return std::unique_ptr<PageServer>(std::move(server));
  }
  ~LocalServer() override { StopHandler(); }

 private:
  explicit LocalServer(const vmm::MappedRegion* region)
      : UffdHandlerServer(region) {}

  void FillContent(const v1::Region& attached) {
    const uint64_t pages = attached.size_bytes() / v1::wire::kPageBytes;
    content_.resize(pages * pattern::kWordsPerPage);
    for (uint64_t page = 0; page < pages; ++page) {
      pattern::FillPage(
          attached.source().pattern().seed(),
          attached.guest_physical_base() / v1::wire::kPageBytes + page,
          &content_[page * pattern::kWordsPerPage]);
    }
  }

  absl::Status ServeFault(uint64_t offset) override {
    return CopyPage(offset, &content_[offset / sizeof(uint64_t)]);
  }

  std::vector<uint64_t> content_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PageServer>> StartLocalServer(
    const vmm::GuestMemory* memory, const v1::Region& attached) {
  return LocalServer::Start(memory, attached);
}

}  // namespace faultline::bench
