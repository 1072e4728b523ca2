// What GetStats and the metrics endpoint show: every session's counters
// (per region too), its staging counters, and the broker's totals since
// start; and that report rendered as Prometheus text with the pools and the
// watchers' dropped events.
#ifndef FAULTLINE_BROKER_ADMIN_STATS_REPORT_H_
#define FAULTLINE_BROKER_ADMIN_STATS_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "broker/devmem/frame_pool_registry.h"
#include "broker/observe/watch_hub.h"
#include "broker/session/session_registry.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

// Statistics for one session (or all, when empty). NOT_FOUND for an
// unknown session.
absl::Status FillStats(SessionRegistry& registry, const std::string& session_id,
                       v1::GetStatsResponse* response);

// The Prometheus text exposition of the broker's statistics.
std::string RenderMetrics(SessionRegistry& registry,
                          const FramePoolRegistry& pools,
                          const WatchHub& watchers);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_ADMIN_STATS_REPORT_H_
