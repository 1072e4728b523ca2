#include "broker/sources/memory_store_backend.h"

#include "absl/strings/str_cat.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

using v1::wire::kPageBytes;

std::vector<StorePage> MemoryStoreBackend::Read(absl::string_view store,
                                                uint64_t offset, uint32_t count,
                                                absl::Time /*deadline*/) {
  std::vector<StorePage> pages(count);
  // Looked up by name on every read, so a deleted store reads as missing
  // even for a region that named it before.
  std::shared_ptr<PageStore> found = stores_.Find(store);
  if (found == nullptr) return pages;
  for (uint32_t i = 0; i < count; ++i) {
    PageStore::Lookup lookup = found->Get(offset + uint64_t{i} * kPageBytes);
    switch (lookup.state) {
      case PageStore::State::kPresent:
        pages[i].state = StorePage::State::kPresent;
        pages[i].data = std::move(lookup.page);
        break;
      case PageStore::State::kBeingWritten:
        pages[i].state = StorePage::State::kBeingWritten;
        break;
      case PageStore::State::kMissing:
        break;
    }
  }
  return pages;
}

absl::Status MemoryStoreBackend::Write(absl::string_view store, uint64_t offset,
                                       absl::string_view data,
                                       absl::Time /*deadline*/) {
  if (absl::Status valid = ValidateWrite(store, offset, data.size(), limits_);
      !valid.ok()) {
    return valid;
  }
  absl::MutexLock lock(&write_mu_);
  std::shared_ptr<PageStore> target = stores_.Find(store);
  const uint64_t added = target == nullptr
                             ? data.size() / kPageBytes
                             : target->MissingPages(offset, data.size());
  const uint64_t held = target == nullptr ? 0 : target->page_count();
  if (absl::Status room =
          CheckLimits(store, held * kPageBytes, total_pages_ * kPageBytes,
                      added * kPageBytes, limits_);
      !room.ok()) {
    return room;
  }
  if (target == nullptr) target = stores_.GetOrCreate(store);
  if (absl::Status begun = target->BeginWrite(offset, data.size());
      !begun.ok()) {
    return begun;
  }
  total_pages_ += target->EndWrite(offset, data);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MemoryStoreBackend::Delete(absl::string_view store,
                                                    absl::Time /*deadline*/) {
  if (absl::Status name = ValidateStoreName(store); !name.ok()) return name;
  absl::MutexLock lock(&write_mu_);
  std::shared_ptr<PageStore> removed = stores_.Remove(store);
  if (removed == nullptr) {
    return absl::NotFoundError(absl::StrCat("no store named ", store));
  }
  const uint64_t pages = removed->page_count();
  total_pages_ -= pages;
  return pages;
}

absl::StatusOr<std::vector<StoreInfo>> MemoryStoreBackend::List(
    absl::Time /*deadline*/) {
  std::vector<StoreInfo> stores;
  for (const std::shared_ptr<PageStore>& store : stores_.List()) {
    stores.push_back(StoreInfo{store->name(), store->page_count()});
  }
  return stores;
}

}  // namespace faultline::broker
