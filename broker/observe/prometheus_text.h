// Renders the broker's statistics in the Prometheus text exposition format.
#ifndef FAULTLINE_BROKER_OBSERVE_PROMETHEUS_TEXT_H_
#define FAULTLINE_BROKER_OBSERVE_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

std::string RenderPrometheusText(const v1::GetStatsResponse& stats,
                                 const std::vector<v1::PoolInfo>& pools,
                                 uint64_t watch_events_dropped);

// Staging counters since start: pages sent as a slot, pages of staging
// sessions sent inline (no slot free), refused slot releases.
std::string RenderStagingText(uint64_t staged_pages, uint64_t inline_pages,
                              uint64_t refused_releases);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_OBSERVE_PROMETHEUS_TEXT_H_
