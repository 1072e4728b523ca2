#include "guest-drivers/payloads/page_order.h"

#include "proto/pattern.h"

namespace faultline::guest {
namespace {

constexpr int kFeistelRounds = 4;

}  // namespace

PageOrder::PageOrder(PageOrderKind kind, uint64_t page_count, uint64_t stride,
                     uint64_t seed)
    : kind_(kind), page_count_(page_count), stride_(stride == 0 ? 1 : stride) {
  // Smallest even bit width whose domain covers the pages: at most 4x the
  // page count, so cycle walking takes under four steps on average.
  while (half_bits_ < 32 && (uint64_t{1} << (2 * half_bits_)) < page_count_) {
    ++half_bits_;
  }
  for (int round = 0; round < kFeistelRounds; ++round) {
    keys_[round] = pattern::Mix(seed + 0x9E3779B97F4A7C15ull * (round + 1));
  }
}

uint64_t PageOrder::PageAt(uint64_t index) const {
  switch (kind_) {
    case PageOrderKind::kSequential:
      return index;
    case PageOrderKind::kStrided:
      return Strided(index);
    case PageOrderKind::kRandom:
      return Random(index);
  }
  return index;
}

// Visits page 0, stride, 2*stride, ..., then 1, 1+stride, ... : residue
// class r holds ceil((count - r) / stride) pages, the first `remainder`
// classes one more than the rest.
uint64_t PageOrder::Strided(uint64_t index) const {
  const uint64_t per_class = page_count_ / stride_;
  const uint64_t remainder = page_count_ % stride_;
  const uint64_t long_classes_pages = remainder * (per_class + 1);
  uint64_t residue, position;
  if (index < long_classes_pages) {
    residue = index / (per_class + 1);
    position = index % (per_class + 1);
  } else {
    const uint64_t rest = index - long_classes_pages;
    residue = remainder + rest / per_class;
    position = rest % per_class;
  }
  return residue + position * stride_;
}

uint64_t PageOrder::Feistel(uint64_t value) const {
  const uint64_t mask = (uint64_t{1} << half_bits_) - 1;
  uint64_t left = (value >> half_bits_) & mask;
  uint64_t right = value & mask;
  for (int round = 0; round < kFeistelRounds; ++round) {
    const uint64_t next = left ^ (pattern::Mix(right ^ keys_[round]) & mask);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

uint64_t PageOrder::Random(uint64_t index) const {
  uint64_t value = Feistel(index);
  while (value >= page_count_) value = Feistel(value);
  return value;
}

IndexRange SliceFor(uint64_t count, uint32_t vcpus, uint32_t vcpu) {
  const uint64_t base = count / vcpus;
  const uint64_t extra = count % vcpus;
  const uint64_t begin = vcpu * base + (vcpu < extra ? vcpu : extra);
  const uint64_t size = base + (vcpu < extra ? 1 : 0);
  return IndexRange{begin, begin + size};
}

}  // namespace faultline::guest
