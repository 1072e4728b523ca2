#include "broker/staging/staging_counters.h"

namespace faultline::broker {

void StagingTotals::Add(const StagedPages& pages) {
  staged_pages.fetch_add(pages.staged, std::memory_order_relaxed);
  inline_pages.fetch_add(pages.inlined, std::memory_order_relaxed);
}

void StagingTotals::AddRefusedRelease() {
  refused_releases.fetch_add(1, std::memory_order_relaxed);
}

void StagingTotals::ToProto(v1::StagingCounters* out) const {
  out->set_staged_pages(staged_pages.load(std::memory_order_relaxed));
  out->set_inline_pages(inline_pages.load(std::memory_order_relaxed));
  out->set_refused_releases(refused_releases.load(std::memory_order_relaxed));
}

}  // namespace faultline::broker
