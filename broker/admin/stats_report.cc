#include "broker/admin/stats_report.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker/observe/prometheus_text.h"
#include "proto/base/status_macros.h"

namespace faultline::broker {

absl::Status FillStats(SessionRegistry& registry, const std::string& session_id,
                       v1::GetStatsResponse* response) {
  std::vector<std::shared_ptr<Session>> sessions;
  if (session_id.empty()) {
    sessions = registry.List();
  } else {
    ASSIGN_OR_RETURN(std::shared_ptr<Session> session,
                     registry.Get(session_id));
    sessions.push_back(std::move(session));
  }
  for (const auto& session : sessions) {
    v1::SessionStats* stats = response->add_sessions();
    stats->set_session_id(session->id());
    stats->set_vm_name(session->vm_name());
    session->stats().ToProto(stats->mutable_counters());
    session->staging().ToProto(stats->mutable_staging());
    for (const auto& [id, region] : session->regions()) {
      v1::RegionStats* region_stats = stats->add_regions();
      region_stats->set_region_id(id);
      region_stats->set_name(region->region.name());
      region->stats.ToProto(region_stats->mutable_counters());
    }
  }
  registry.total().ToProto(response->mutable_total());
  registry.staging_totals().ToProto(response->mutable_staging_total());
  return absl::OkStatus();
}

std::string RenderMetrics(SessionRegistry& registry,
                          const FramePoolRegistry& pools,
                          const WatchHub& watchers) {
  v1::GetStatsResponse stats;
  FillStats(registry, "", &stats).IgnoreError();
  const v1::StagingCounters& staging = stats.staging_total();
  return absl::StrCat(
      RenderPrometheusText(stats, pools.List(), watchers.dropped_total()),
      RenderStagingText(staging.staged_pages(), staging.inline_pages(),
                        staging.refused_releases()));
}

}  // namespace faultline::broker
