#include "broker/sources/page_store.h"

#include "broker/sources/store_backend.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

using v1::wire::kPageBytes;

absl::Status PageStore::BeginWrite(uint64_t offset, uint64_t size) {
  if (absl::Status valid = ValidateWrite(name_, offset, size, StoreLimits());
      !valid.ok()) {
    return valid;
  }
  absl::MutexLock lock(&mu_);
  for (uint64_t page = offset; page < offset + size; page += kPageBytes) {
    ++writing_[page];
  }
  return absl::OkStatus();
}

uint64_t PageStore::EndWrite(uint64_t offset, absl::string_view data) {
  // Copied before the lock, so readers never wait for the copy.
  std::vector<std::pair<uint64_t, std::shared_ptr<const std::string>>> pages;
  for (uint64_t done = 0; done < data.size(); done += kPageBytes) {
    pages.emplace_back(offset + done, std::make_shared<const std::string>(
                                          data.substr(done, kPageBytes)));
  }
  uint64_t added = 0;
  absl::MutexLock lock(&mu_);
  for (auto& [page_offset, page] : pages) {
    auto [slot, inserted] = pages_.try_emplace(page_offset);
    if (inserted) ++added;
    slot->second = std::move(page);
    auto it = writing_.find(page_offset);
    if (it != writing_.end() && --it->second == 0) writing_.erase(it);
  }
  return added;
}

absl::Status PageStore::Put(uint64_t offset, absl::string_view data) {
  absl::Status status = BeginWrite(offset, data.size());
  if (!status.ok()) return status;
  EndWrite(offset, data);
  return absl::OkStatus();
}

PageStore::Lookup PageStore::Get(uint64_t offset) const {
  absl::MutexLock lock(&mu_);
  Lookup lookup;
  if (writing_.count(offset) != 0) {
    lookup.state = State::kBeingWritten;
    return lookup;
  }
  auto it = pages_.find(offset);
  if (it == pages_.end()) return lookup;
  lookup.state = State::kPresent;
  lookup.page = it->second;
  return lookup;
}

uint64_t PageStore::MissingPages(uint64_t offset, uint64_t size) const {
  absl::MutexLock lock(&mu_);
  uint64_t present = 0;
  for (auto it = pages_.lower_bound(offset);
       it != pages_.end() && it->first - offset < size; ++it) {
    ++present;
  }
  return size / kPageBytes - present;
}

uint64_t PageStore::page_count() const {
  absl::MutexLock lock(&mu_);
  return pages_.size();
}

std::shared_ptr<PageStore> PageStoreRegistry::Find(
    absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto it = stores_.find(name);
  return it == stores_.end() ? nullptr : it->second;
}

std::shared_ptr<PageStore> PageStoreRegistry::GetOrCreate(
    absl::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = stores_.find(name);
  if (it == stores_.end()) {
    it = stores_
             .emplace(std::string(name),
                      std::make_shared<PageStore>(std::string(name)))
             .first;
  }
  return it->second;
}

std::shared_ptr<PageStore> PageStoreRegistry::Remove(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = stores_.find(name);
  if (it == stores_.end()) return nullptr;
  std::shared_ptr<PageStore> store = std::move(it->second);
  stores_.erase(it);
  return store;
}

std::vector<std::shared_ptr<PageStore>> PageStoreRegistry::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<PageStore>> stores;
  for (const auto& [name, store] : stores_) stores.push_back(store);
  return stores;
}

}  // namespace faultline::broker
