#include "vmm/fault/working_set.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kPageBytes = 4096;

absl::Status LineError(const std::string& path, int line,
                       const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrFormat("working set %s line %d: %s", path, line, what));
}

}  // namespace

absl::StatusOr<std::vector<WorkingSetPage>> ReadWorkingSet(
    const std::string& path, const std::vector<v1::Region>& regions) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrFormat("working set %s cannot be read", path));
  }
  std::string line;
  if (!std::getline(in, line) || line != kWorkingSetHeader) {
    return LineError(
        path, 1, absl::StrFormat("want the header '%s'", kWorkingSetHeader));
  }
  std::vector<WorkingSetPage> pages;
  for (int number = 2; std::getline(in, line); ++number) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty()) continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(text, ' ', absl::SkipEmpty());
    WorkingSetPage page;
    if (words.size() != 2 || !absl::SimpleAtoi(words[0], &page.region_id) ||
        !absl::SimpleHexAtoi(words[1], &page.offset)) {
      return LineError(
          path, number,
          absl::StrFormat("'%s' is not '<region id> <hex offset>'", text));
    }
    const v1::Region* region = nullptr;
    for (const v1::Region& candidate : regions) {
      if (candidate.region_id() == page.region_id) region = &candidate;
    }
    if (region == nullptr || region->kind() != v1::REGION_KIND_RAM) {
      return LineError(path, number,
                       absl::StrFormat("region %u is not a RAM region of this "
                                       "VM",
                                       page.region_id));
    }
    if (page.offset % kPageBytes != 0 || page.offset >= region->size_bytes()) {
      return LineError(
          path, number,
          absl::StrFormat("offset %#x is not a page of region %u (%u bytes)",
                          page.offset, page.region_id, region->size_bytes()));
    }
    pages.push_back(page);
  }
  return pages;
}

absl::StatusOr<std::unique_ptr<WorkingSetRecorder>> WorkingSetRecorder::Create(
    const std::string& path) {
  std::unique_ptr<WorkingSetRecorder> recorder(new WorkingSetRecorder(path));
  if (absl::Status written = recorder->Write(); !written.ok()) return written;
  return recorder;
}

void WorkingSetRecorder::Record(uint32_t region_id, uint64_t offset) {
  absl::MutexLock lock(&mutex_);
  // Region ids are small and offsets page-aligned: one key for both.
  const uint64_t key = (uint64_t{region_id} << 52) | (offset / kPageBytes);
  if (!seen_.insert(key).second) return;
  pages_.push_back(WorkingSetPage{region_id, offset});
}

absl::Status WorkingSetRecorder::Write() {
  std::ostringstream text;
  text << kWorkingSetHeader << "\n";
  {
    absl::MutexLock lock(&mutex_);
    for (const WorkingSetPage& page : pages_) {
      text << page.region_id << " " << absl::StrFormat("%x", page.offset)
           << "\n";
    }
  }
  // Written beside and renamed, so a reader never sees half a file.
  const std::string temporary = path_ + ".partial";
  std::ofstream out(temporary, std::ios::trunc);
  out << text.str();
  out.close();
  if (!out) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot write the working set %s", temporary));
  }
  if (std::rename(temporary.c_str(), path_.c_str()) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot rename %s to %s", temporary, path_));
  }
  return absl::OkStatus();
}

size_t WorkingSetRecorder::size() const {
  absl::MutexLock lock(&mutex_);
  return pages_.size();
}

}  // namespace faultline::vmm
