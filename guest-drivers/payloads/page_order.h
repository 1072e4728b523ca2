// The order in which ramtouch visits pages: a bijection from visit index to
// page index over [0, page_count), so every page is touched exactly once and
// vCPUs given disjoint index ranges touch disjoint pages.
// Portable: built for the host in tests as well.
#ifndef FAULTLINE_GUEST_DRIVERS_PAYLOADS_PAGE_ORDER_H_
#define FAULTLINE_GUEST_DRIVERS_PAYLOADS_PAGE_ORDER_H_

#include <stdint.h>

namespace faultline::guest {

enum class PageOrderKind : uint32_t { kSequential, kStrided, kRandom };

class PageOrder {
 public:
  // `stride` (>= 1) is used by kStrided, `seed` by kRandom.
  PageOrder(PageOrderKind kind, uint64_t page_count, uint64_t stride,
            uint64_t seed);

  // The page visited at `index` (< page_count).
  uint64_t PageAt(uint64_t index) const;

  uint64_t page_count() const { return page_count_; }

 private:
  uint64_t Strided(uint64_t index) const;
  // A keyed permutation of [0, 2^(2*half_bits_)), walked until it lands
  // below page_count (cycle walking keeps it a bijection on the pages).
  uint64_t Random(uint64_t index) const;
  uint64_t Feistel(uint64_t value) const;

  PageOrderKind kind_;
  uint64_t page_count_;
  uint64_t stride_;
  uint64_t keys_[4] = {};
  uint32_t half_bits_ = 1;
};

// The visit indexes [begin, end) that vCPU `vcpu` of `vcpus` handles:
// contiguous, disjoint, together covering [0, count), sizes differing by at
// most one.
struct IndexRange {
  uint64_t begin;
  uint64_t end;
};
IndexRange SliceFor(uint64_t count, uint32_t vcpus, uint32_t vcpu);

}  // namespace faultline::guest

#endif  // FAULTLINE_GUEST_DRIVERS_PAYLOADS_PAGE_ORDER_H_
