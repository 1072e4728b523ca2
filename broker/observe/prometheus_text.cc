#include "broker/observe/prometheus_text.h"

#include "absl/strings/str_cat.h"
#include "proto/faultline/v1/enum_words.h"

namespace faultline::broker {
namespace {

// Label values escape backslash, quote and newline.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void Counters(std::string& out, const std::string& labels,
              const v1::FaultCounters& c) {
  const std::pair<const char*, uint64_t> answers[] = {{"page", c.pages()},
                                                      {"zero", c.zeros()},
                                                      {"frame", c.frames()},
                                                      {"retry", c.retries()},
                                                      {"error", c.errors()}};
  for (const auto& [kind, count] : answers) {
    absl::StrAppend(&out, "faultline_faults_total{", labels, ",answer=\"", kind,
                    "\"} ", count, "\n");
  }
  for (const auto& retry : c.retries_by_reason()) {
    absl::StrAppend(&out, "faultline_retries_total{", labels, ",reason=\"",
                    v1::EnumWord(retry.reason()), "\"} ", retry.count(), "\n");
  }
  for (const auto& error : c.errors_by_kind()) {
    absl::StrAppend(&out, "faultline_errors_total{", labels, ",kind=\"",
                    v1::EnumWord(error.kind()), "\"} ", error.count(), "\n");
  }
  absl::StrAppend(&out, "faultline_bytes_served_total{", labels, "} ",
                  c.bytes_served(), "\n");
  absl::StrAppend(&out, "faultline_invalid_requests_total{", labels, "} ",
                  c.invalid_requests(), "\n");
  absl::StrAppend(&out, "faultline_reads_paused_total{", labels, "} ",
                  c.reads_paused(), "\n");
  absl::StrAppend(&out, "faultline_reasks_throttled_total{", labels, "} ",
                  c.reasks_throttled(), "\n");
  const std::pair<const char*, uint64_t> quantiles[] = {
      {"0.5", c.latency().p50_us()},
      {"0.99", c.latency().p99_us()},
      {"0.999", c.latency().p999_us()}};
  for (const auto& [q, value] : quantiles) {
    absl::StrAppend(&out, "faultline_fault_latency_us{", labels, ",quantile=\"",
                    q, "\"} ", value, "\n");
  }
}

}  // namespace

std::string RenderPrometheusText(const v1::GetStatsResponse& stats,
                                 const std::vector<v1::PoolInfo>& pools,
                                 uint64_t watch_events_dropped) {
  std::string out;
  absl::StrAppend(&out,
                  "# HELP faultline_faults_total Faults answered, by answer "
                  "kind.\n# TYPE faultline_faults_total counter\n",
                  "# HELP faultline_fault_latency_us Fault service latency "
                  "inside the broker.\n# TYPE faultline_fault_latency_us "
                  "gauge\n");
  Counters(out, "session=\"all\",vm=\"all\",region=\"all\"", stats.total());
  for (const v1::SessionStats& session : stats.sessions()) {
    const std::string base =
        absl::StrCat("session=\"", Escape(session.session_id()), "\",vm=\"",
                     Escape(session.vm_name()), "\"");
    Counters(out, absl::StrCat(base, ",region=\"all\""), session.counters());
    for (const v1::RegionStats& region : session.regions()) {
      Counters(out,
               absl::StrCat(base, ",region=\"",
                            Escape(region.name().empty()
                                       ? absl::StrCat(region.region_id())
                                       : region.name()),
                            "\""),
               region.counters());
    }
  }
  absl::StrAppend(&out, "# TYPE faultline_sessions gauge\nfaultline_sessions ",
                  stats.sessions_size(), "\n");
  absl::StrAppend(&out, "# TYPE faultline_pool_frames_in_use gauge\n");
  for (const v1::PoolInfo& pool : pools) {
    absl::StrAppend(&out, "faultline_pool_frames_in_use{pool=\"",
                    Escape(pool.pool()), "\"} ", pool.frames_in_use(), "\n",
                    "faultline_pool_frames{pool=\"", Escape(pool.pool()),
                    "\"} ", pool.frame_count(), "\n");
  }
  absl::StrAppend(&out,
                  "# TYPE faultline_watch_events_dropped_total counter\n"
                  "faultline_watch_events_dropped_total ",
                  watch_events_dropped, "\n");
  return out;
}

std::string RenderStagingText(uint64_t staged_pages, uint64_t inline_pages,
                              uint64_t refused_releases) {
  return absl::StrCat(
      "# HELP faultline_staging_pages_total Pages of staging sessions, by "
      "way: in a staging slot or inline (no slot was free).\n"
      "# TYPE faultline_staging_pages_total counter\n"
      "faultline_staging_pages_total{way=\"slot\"} ",
      staged_pages, "\nfaultline_staging_pages_total{way=\"inline\"} ",
      inline_pages,
      "\n# TYPE faultline_staging_refused_releases_total counter\n"
      "faultline_staging_refused_releases_total ",
      refused_releases, "\n");
}

}  // namespace faultline::broker
