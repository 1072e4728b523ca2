#include "broker/sources/page_store.h"

#include "absl/strings/str_cat.h"
#include "broker/sources/source.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {

absl::Status PageStore::BeginWrite(uint64_t offset, uint64_t size) {
  if (offset % v1::wire::kPageBytes != 0 || size % v1::wire::kPageBytes != 0 ||
      size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store ", name_, ": put at offset ", offset, " of ", size,
        " bytes is not a whole number of 4096-byte pages at a page boundary"));
  }
  if (offset + size < offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store ", name_, ": put at offset ", offset, " wraps around"));
  }
  absl::MutexLock lock(&mu_);
  for (uint64_t page = offset; page < offset + size;
       page += v1::wire::kPageBytes) {
    ++writing_[page];
  }
  return absl::OkStatus();
}

void PageStore::EndWrite(uint64_t offset, absl::string_view data) {
  std::vector<std::pair<uint64_t, std::shared_ptr<const std::string>>> pages;
  for (uint64_t done = 0; done < data.size(); done += v1::wire::kPageBytes) {
    pages.emplace_back(offset + done,
                       std::make_shared<const std::string>(
                           data.substr(done, v1::wire::kPageBytes)));
  }
  absl::MutexLock lock(&mu_);
  for (auto& [page_offset, page] : pages) {
    pages_[page_offset] = std::move(page);
    auto it = writing_.find(page_offset);
    if (it != writing_.end() && --it->second == 0) writing_.erase(it);
  }
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

uint64_t PageStore::page_count() const {
  absl::MutexLock lock(&mu_);
  return pages_.size();
}

std::shared_ptr<PageStore> PageStoreRegistry::GetOrCreate(
    const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto& store = stores_[name];
  if (store == nullptr) store = std::make_shared<PageStore>(name);
  return store;
}

}  // namespace faultline::broker
