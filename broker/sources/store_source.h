// Pages from a named PageStore: region offset X is store offset X. A page
// nobody has put answers retry NOT_YET_AVAILABLE or zero (as the region asks);
// a page being written answers retry BUSY.
#ifndef FAULTLINE_BROKER_SOURCES_STORE_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_STORE_SOURCE_H_

#include <memory>
#include <string>

#include "broker/sources/page_store.h"
#include "broker/sources/source.h"

namespace faultline::broker {

// Delay hints for the VMM's next ask.
inline constexpr uint32_t kBusyRetryDelayUs = 200;
inline constexpr uint32_t kNotYetAvailableRetryDelayUs = 2000;

class StoreSource : public PageSource {
 public:
  StoreSource(std::shared_ptr<PageStore> store, bool missing_is_zero)
      : store_(std::move(store)), missing_is_zero_(missing_is_zero) {}

  void Answer(uint64_t offset, v1::FaultAnswer* answer) const override;
  std::string Describe() const override;
  bool MayBlock() const override { return false; }

 private:
  const std::shared_ptr<PageStore> store_;
  const bool missing_is_zero_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_STORE_SOURCE_H_
