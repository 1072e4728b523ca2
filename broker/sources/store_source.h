// Pages from a named store, through its backend (in memory or Redis):
// region offset X is store offset X. A page nobody has put answers retry
// NOT_YET_AVAILABLE or zero (as the region asks); a page being written
// answers retry BUSY; a page the backend cannot read now (a Redis node down
// or failing over, a read past its deadline) answers retry STORE_UNAVAILABLE
// with the backend's reason, never zero.
#ifndef FAULTLINE_BROKER_SOURCES_STORE_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_STORE_SOURCE_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/sources/source.h"
#include "broker/sources/store_backend.h"

namespace faultline::broker {

// Delay hints for the VMM's next ask.
inline constexpr uint32_t kBusyRetryDelayUs = 200;
inline constexpr uint32_t kNotYetAvailableRetryDelayUs = 2000;
// A Redis failover takes node-timeout + about 3 s; at this pace the VMM's
// default budget (64 re-asks) lasts about 16 s, twice that.
inline constexpr uint32_t kStoreUnavailableRetryDelayUs = 250'000;
// How long one read (a fault and its prefetch) may wait for the backend.
inline constexpr absl::Duration kStoreReadTimeout = absl::Seconds(1);

class StoreSource : public PageSource {
 public:
  // `backend` outlives the source.
  StoreSource(StoreBackend& backend, std::string store, bool missing_is_zero)
      : backend_(backend),
        store_(std::move(store)),
        missing_is_zero_(missing_is_zero) {}

  void Answer(uint64_t offset, v1::FaultAnswer* answer) const override;
  // One backend read for the whole run.
  void AnswerRun(uint64_t offset, uint32_t count,
                 std::vector<v1::FaultAnswer>* answers) const override;
  std::string Describe() const override;
  bool MayBlock() const override { return backend_.MayBlock(); }

 private:
  void Fill(uint64_t offset, StorePage page, v1::FaultAnswer* answer) const;

  StoreBackend& backend_;
  const std::string store_;
  const bool missing_is_zero_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_STORE_SOURCE_H_
