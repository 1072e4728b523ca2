// CRIU 3.17's lazy pages as a peer of faultline: the workload runs in
// criu_toucher, which is dumped and restored with its memory served lazily
// over userfaultfd, either by `criu lazy-pages` from the local images or by
// `criu page-server --lazy-pages` over TCP loopback (the images without
// their pages on the restoring side, the pages on the serving side). Every
// CRIU step has a deadline and a log in the run's folder.
//
// How the faults are counted: `criu lazy-pages -v4` logs "#PF at 0xADDR"
// for every userfaultfd event it serves; the ones inside the toucher's
// region are its faults on the workload (the toucher reports where its
// region was). The toucher's own residency probes (first_touch.h) give the
// touches that waited, an independent count.
#ifndef FAULTLINE_INTEGRATION_BENCH_CRIU_PEER_H_
#define FAULTLINE_INTEGRATION_BENCH_CRIU_PEER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "integration/bench/touch_plan.h"
#include "integration/bench/touch_record.h"

namespace faultline::bench {

enum class CriuMode {
  kLazyPages,   // criu lazy-pages reading the local images
  kPageServer,  // criu page-server --lazy-pages over TCP on 127.0.0.1
};

struct CriuRunOptions {
  CriuMode mode = CriuMode::kLazyPages;
  std::string criu = "criu";  // the criu binary
  std::string toucher;        // //integration/bench:criu_toucher
  std::string work_dir;       // an empty writable folder for this run
  uint64_t region_bytes = 64 << 20;
  TouchOrder order = TouchOrder::kSequential;
  uint64_t stride_pages = 64;
  absl::Duration deadline = absl::Minutes(5);  // per step
};

struct CriuFaults {
  uint64_t in_region = 0;  // "#PF" lines inside the region
  uint64_t total = 0;      // all "#PF" lines (stack, libraries, heap too)
};

struct CriuRun {
  TouchRecord record;
  CriuFaults faults;
  double dump_seconds = 0;
  double restore_seconds = 0;  // criu restore -d, until it returned
};

// Dump, lazy restore, touch, check: fails unless every page held the
// pattern and every CRIU step succeeded in time.
absl::StatusOr<CriuRun> RunCriuOnce(const CriuRunOptions& options);

// Counts the "#PF at 0x..." lines of a `criu lazy-pages -v4` log.
CriuFaults CountCriuFaults(absl::string_view log, uint64_t region_address,
                           uint64_t region_bytes);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_CRIU_PEER_H_
