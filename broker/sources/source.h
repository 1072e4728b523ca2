// A page source: what backs the pages of one RAM region.
//
// Implementations are immutable after construction or lock internally:
// Answer() and AnswerRun() are called from many worker threads at once.
#ifndef FAULTLINE_BROKER_SOURCES_SOURCE_H_
#define FAULTLINE_BROKER_SOURCES_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class PageSource {
 public:
  virtual ~PageSource() = default;

  // Sets exactly one of `answer`'s page, zero, retry or error for the page at
  // `offset` (page-aligned, inside the region: the caller checked).
  virtual void Answer(uint64_t offset, v1::FaultAnswer* answer) const = 0;

  // The answers for `count` (>= 1) consecutive pages from `offset`, all
  // inside the region: a fault and the pages prefetched with it. Appends at
  // least one answer and at most `count`, and may stop after the first that
  // is neither page nor zero (prefetch ends there). The default asks
  // Answer() page by page; a source that fetches a run at once (a remote
  // store: one round trip) overrides it.
  virtual void AnswerRun(uint64_t offset, uint32_t count,
                         std::vector<v1::FaultAnswer>* answers) const;

  // For people: "zero", "image /path@0x1000", "pattern seed=7", ...
  virtual std::string Describe() const = 0;

  // False when answers only compute or copy from memory (no I/O, no long
  // lock): such answers may be made on the thread that read the fault.
  virtual bool MayBlock() const { return true; }
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SOURCES_SOURCE_H_
