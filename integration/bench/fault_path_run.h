// One configuration of the host fault-path benchmark: fresh guest memory,
// one page server, N toucher threads (vCPU stand-ins) that each read the
// first byte of every page of their share and time that first access.
// Afterwards every page is checked against the pattern it should hold.
#ifndef FAULTLINE_INTEGRATION_BENCH_FAULT_PATH_RUN_H_
#define FAULTLINE_INTEGRATION_BENCH_FAULT_PATH_RUN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "integration/bench/latency_summary.h"
#include "integration/bench/page_server.h"
#include "integration/bench/touch_plan.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/memory/guest_memory.h"

namespace faultline::bench {

struct FaultPathSpec {
  ServeMode mode = ServeMode::kLocal;
  absl::Duration ring_spin;  // ring modes, both sides
  Transport transport = Transport::kInProcess;
  std::string target;    // broker modes
  std::string vm_name;   // broker modes
  std::string vm_token;  // TCP
  uint32_t prefetch = 15;
  // The region's source when not the pattern (a store holding the pattern).
  std::optional<v1::Source> source;
  TouchOrder order = TouchOrder::kSequential;
  int threads = 1;
  uint64_t region_bytes = 32 << 20;
  uint64_t stride_pages = 64;
  // Longest the touchers may take before the run is abandoned.
  absl::Duration deadline = absl::Seconds(120);
};

struct FaultPathResult {
  FaultPathSpec spec;
  LatencySummary latency;  // first access to each page, as the toucher saw it
  double seconds = 0;      // first touch to last toucher done
  uint64_t pages = 0;      // pages of the region, all made resident
  ServerCounts counts;
  double faults_per_second = 0;
  double pages_per_second = 0;
};

// Fresh guest memory with one pattern region (first_touch.h's base and
// seed), served by a page server of `spec.mode`; attached with `source`
// instead of the pattern when given (a store filled with that pattern). Members
// are destroyed server first, which releases any thread still blocked on a
// page.
struct ServedRegion {
  std::unique_ptr<vmm::GuestMemory> memory;
  std::unique_ptr<PageServer> server;
  uint8_t* base = nullptr;
  uint64_t pages = 0;
};
absl::StatusOr<ServedRegion> ServeRegion(
    const ServerSpec& spec, uint64_t region_bytes,
    const std::optional<v1::Source>& source = std::nullopt);

// Runs one configuration; fails if serving failed, the deadline passed or a
// page holds the wrong bytes.
absl::StatusOr<FaultPathResult> RunFaultPath(const FaultPathSpec& spec);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_FAULT_PATH_RUN_H_
