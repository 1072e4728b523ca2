#include "vmm/exit_report.h"

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/faultline/v1/enum_words.h"

namespace faultline::vmm {
namespace {

// A JSON string literal.
std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// "busy=3, over_quota=1" for people, "\"busy\":3,..." inside JSON.
std::string Reasons(const FaultCountersSnapshot& s, bool json) {
  return absl::StrJoin(
      s.retries_by_reason, json ? "," : ", ",
      [json](std::string* out,
             const std::pair<const v1::RetryReason, uint64_t>& r) {
        const std::string key = v1::EnumWord(r.first);
        absl::StrAppend(out, json ? Quoted(key) : key, json ? ":" : "=",
                        r.second);
      });
}

std::string StopJson(const StopReason& reason) {
  std::string out =
      absl::StrCat("{\"kind\":", Quoted(StopKindName(reason.kind)),
                   ",\"message\":", Quoted(reason.message));
  if (HasGuestStatus(reason.kind)) {
    absl::StrAppend(&out, ",\"guest_status\":", reason.guest_status);
  }
  if (reason.page.has_value())
    absl::StrAppend(&out, ",\"page\":", *reason.page);
  return out + "}";
}

std::string PoisonedJson(const FaultCountersSnapshot& s) {
  return absl::StrJoin(
      s.poisoned_pages, ",", [](std::string* out, const PoisonedPage& page) {
        absl::StrAppend(out, "{\"page\":", page.guest_physical,
                        ",\"kind\":", Quoted(v1::EnumWord(page.kind)),
                        ",\"message\":", Quoted(page.message), "}");
      });
}

}  // namespace

std::string ExitReportText(const StopReason& reason,
                           const FaultCountersSnapshot& s) {
  const std::string reasons = Reasons(s, /*json=*/false);
  return absl::StrFormat(
      "vmm: %s\n"
      "vmm: faults %u (coalesced %u); answers: page %u, zero %u, frame %u, "
      "retry %u, error %u (poisoned %u); extra pages %u; loaded pages %u; "
      "from staging slots %u\n"
      "vmm: retries by reason: %s\n"
      "vmm: already resolved %u, rejected answers %u, stale answers %u, "
      "resent %u, reconnects %u, revocations %u\n"
      "vmm: latency p50 %uus p99 %uus p99.9 %uus; %.0f pages/s over %.2fs\n",
      reason.message, s.faults, s.coalesced, s.pages, s.zeros, s.frames,
      s.retries, s.errors, s.poisoned, s.extra_pages, s.loaded_pages,
      s.staged_pages, reasons.empty() ? "none" : reasons, s.already_resolved,
      s.rejected_answers, s.stale_answers, s.resent, s.reconnects,
      s.revocations, s.latency_p50_us, s.latency_p99_us, s.latency_p999_us,
      s.pages_per_second, s.elapsed_seconds);
}

std::string ExitReportJson(const StopReason& reason,
                           const FaultCountersSnapshot& s) {
  return absl::StrFormat(
      "{\"faults\":%u,\"coalesced\":%u,\"answers\":{\"page\":%u,\"zero\":%u,"
      "\"frame\":%u,\"retry\":%u,\"error\":%u},\"poisoned\":%u,"
      "\"extra_pages\":%u,"
      "\"loaded_pages\":%u,\"staged_pages\":%u,\"retries_by_reason\":{%s},"
      "\"already_resolved\":%u,\"rejected_answers\":%u,\"stale_answers\":%u,"
      "\"resent\":%u,\"reconnects\":%u,\"revocations\":%u,"
      "\"latency_us\":{\"p50\":%u,\"p99\":%u,\"p999\":%u},"
      "\"elapsed_seconds\":%.3f,\"pages_per_second\":%.1f,"
      "\"stop\":%s,\"poisoned_pages\":[%s]}\n",
      s.faults, s.coalesced, s.pages, s.zeros, s.frames, s.retries, s.errors,
      s.poisoned, s.extra_pages, s.loaded_pages, s.staged_pages,
      Reasons(s, /*json=*/true), s.already_resolved, s.rejected_answers,
      s.stale_answers, s.resent, s.reconnects, s.revocations, s.latency_p50_us,
      s.latency_p99_us, s.latency_p999_us, s.elapsed_seconds,
      s.pages_per_second, StopJson(reason), PoisonedJson(s));
}

}  // namespace faultline::vmm
