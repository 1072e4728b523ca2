#include "vmm/loader/loader.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "proto/base/status_macros.h"
#include "proto/guest_abi.h"
#include "vmm/loader/boot_state.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

uint64_t PageDown(uint64_t address) { return address & ~(abi::kPageBytes - 1); }
uint64_t PageUp(uint64_t address) {
  return PageDown(address + abi::kPageBytes - 1);
}

}  // namespace

absl::StatusOr<InstalledSegments> InstallSegments(
    absl::string_view file, const std::vector<LoadSegment>& segments,
    const PageSink& sink) {
  InstalledSegments installed;
  // Pages with file bytes: a whole page of one segment is read where it
  // lies in the file; a page filled in part, or shared by segments, is
  // composed (zeroed first). Pages that are all .bss stay zero pages.
  struct PageData {
    const uint8_t* bytes = nullptr;
    PageBytes* composed = nullptr;  // owned by `composed_pages`
  };
  std::map<uint64_t, PageData> data_pages;
  std::vector<std::unique_ptr<PageBytes>> composed_pages;
  // Each segment's pages as [first, end), merged below: a large .bss is one
  // range, not a set of its pages.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const LoadSegment& segment : segments) {
    if (segment.file_offset > file.size() ||
        segment.file_bytes > file.size() - segment.file_offset) {
      return absl::InvalidArgumentError("a segment lies outside its file");
    }
    const uint64_t end = segment.physical_address + segment.memory_bytes;
    installed.image_end = std::max(installed.image_end, PageUp(end));
    ranges.emplace_back(PageDown(segment.physical_address), PageUp(end));
    for (uint64_t done = 0; done < segment.file_bytes;) {
      const uint64_t address = segment.physical_address + done;
      const uint64_t page = PageDown(address);
      const uint64_t in_page = address - page;
      const uint64_t chunk =
          std::min(segment.file_bytes - done, abi::kPageBytes - in_page);
      const auto* bytes = reinterpret_cast<const uint8_t*>(file.data()) +
                          segment.file_offset + done;
      done += chunk;
      auto [it, inserted] = data_pages.try_emplace(page);
      PageData& data = it->second;
      if (inserted && chunk == abi::kPageBytes) {
        data.bytes = bytes;
        continue;
      }
      if (data.composed == nullptr) {
        data.composed =
            composed_pages.emplace_back(std::make_unique<PageBytes>()).get();
        if (data.bytes != nullptr) {
          std::memcpy(data.composed->data(), data.bytes, abi::kPageBytes);
        } else {
          data.composed->fill(0);
        }
        data.bytes = data.composed->data();
      }
      std::memcpy(data.composed->data() + in_page, bytes, chunk);
    }
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t next = 0;  // the first page not installed yet
  for (const auto& [first, end] : ranges) {
    for (uint64_t page = std::max(first, next); page < end;
         page += abi::kPageBytes) {
      auto data = data_pages.find(page);
      RETURN_IF_ERROR(
          sink(page, data == data_pages.end() ? nullptr : data->second.bytes));
      ++installed.pages;
    }
    next = std::max(next, end);
  }
  return installed;
}

absl::StatusOr<uint64_t> InstallPages(
    const std::map<uint64_t, PageBytes>& pages, const PageSink& sink) {
  for (const auto& [address, page] : pages) {
    RETURN_IF_ERROR(sink(address, page.data()));
  }
  return pages.size();
}

absl::StatusOr<LoadedPayload> LoadPayload(const ElfImage& image,
                                          uint64_t ram_bytes,
                                          uint32_t vcpu_count,
                                          const std::string& args,
                                          const PageSink& sink) {
  RETURN_IF_ERROR(CheckFitsGuest(image, ram_bytes));
  LoadedPayload loaded;
  loaded.entry = image.entry;
  ASSIGN_OR_RETURN(const InstalledSegments segments,
                   InstallSegments(image.bytes, image.segments, sink));
  loaded.image_end = segments.image_end;
  loaded.pages_installed = segments.pages;

  BootParameters parameters;
  parameters.ram_bytes = ram_bytes;
  parameters.vcpu_count = vcpu_count;
  parameters.image_end = loaded.image_end;
  parameters.args = args;
  ASSIGN_OR_RETURN(auto boot_pages, BuildBootPages(parameters));
  ASSIGN_OR_RETURN(const uint64_t boot_installed,
                   InstallPages(boot_pages, sink));
  loaded.pages_installed += boot_installed;
  return loaded;
}

}  // namespace faultline::vmm
