#include "integration/bench/touch_record.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace faultline::bench {
namespace {

constexpr absl::string_view kMagic = "faultline-touch-record 1";
constexpr uint64_t kMostPages = uint64_t{1} << 24;  // 64 GiB of pages

absl::Status Malformed(size_t line, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("touch record line ", line + 1, ": ", why));
}

// "NAME VALUE" with VALUE decimal or 0x hex.
absl::StatusOr<uint64_t> Field(const std::vector<absl::string_view>& lines,
                               size_t index, absl::string_view name) {
  if (index >= lines.size()) return Malformed(index, "truncated");
  std::vector<absl::string_view> words =
      absl::StrSplit(lines[index], ' ', absl::SkipEmpty());
  uint64_t value = 0;
  if (words.size() != 2 || words[0] != name) {
    return Malformed(index, absl::StrCat("expected '", name, " VALUE'"));
  }
  const bool parsed = absl::ConsumePrefix(&words[1], "0x")
                          ? absl::SimpleHexAtoi(words[1], &value)
                          : absl::SimpleAtoi(words[1], &value);
  if (!parsed) return Malformed(index, absl::StrCat("bad ", name));
  return value;
}

}  // namespace

std::string FormatTouchRecord(const TouchRecord& record) {
  std::string out = absl::StrFormat(
      "%s\nregion_address 0x%x\nregion_pages %u\nmismatched_pages %u\n"
      "wall_nanos %d\nsamples %u\n",
      kMagic, record.region_address, record.region_pages,
      record.mismatched_pages, record.run.wall_nanos, record.run.nanos.size());
  for (size_t i = 0; i < record.run.nanos.size(); ++i) {
    const int waited = i < record.run.waited.size() ? record.run.waited[i] : 0;
    absl::StrAppend(&out, record.run.nanos[i], " ", waited, "\n");
  }
  absl::StrAppend(&out, "end\n");
  return out;
}

absl::StatusOr<TouchRecord> ParseTouchRecord(absl::string_view text) {
  const std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0] != kMagic) {
    return Malformed(0, absl::StrCat("expected '", kMagic, "'"));
  }
  TouchRecord record;
  absl::StatusOr<uint64_t> value = Field(lines, 1, "region_address");
  if (!value.ok()) return value.status();
  record.region_address = *value;
  if (!(value = Field(lines, 2, "region_pages")).ok()) return value.status();
  record.region_pages = *value;
  if (!(value = Field(lines, 3, "mismatched_pages")).ok()) {
    return value.status();
  }
  record.mismatched_pages = *value;
  if (!(value = Field(lines, 4, "wall_nanos")).ok()) return value.status();
  record.run.wall_nanos = static_cast<int64_t>(*value);
  if (!(value = Field(lines, 5, "samples")).ok()) return value.status();
  const uint64_t samples = *value;
  if (samples != record.region_pages || samples > kMostPages) {
    return Malformed(5, "samples must equal region_pages (at most 2^24)");
  }
  if (lines.size() != 6 + samples + 1 || lines.back() != "end") {
    return Malformed(lines.size() - 1,
                     absl::StrCat("expected ", samples,
                                  " sample lines and 'end' (cut short?)"));
  }
  ReserveFirstTouchRun(samples, &record.run);
  for (size_t i = 6; i < 6 + samples; ++i) {
    std::vector<absl::string_view> words =
        absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    int64_t nanos = 0;
    int waited = 0;
    if (words.size() != 2 || !absl::SimpleAtoi(words[0], &nanos) || nanos < 0 ||
        !absl::SimpleAtoi(words[1], &waited) || waited < 0 || waited > 1) {
      return Malformed(i, "expected 'NANOS WAITED(0|1)'");
    }
    record.run.nanos.push_back(nanos);
    record.run.waited.push_back(static_cast<uint8_t>(waited));
  }
  return record;
}

}  // namespace faultline::bench
