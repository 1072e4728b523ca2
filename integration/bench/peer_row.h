// The rows of the side-by-side benchmark: every way of serving the same
// workload (one thread touching every page of a region once, in the same
// order) behind one interface, so that a new way is one new row.
//
// A row is named by its label:
//   local                      the limit: an in-process UFFDIO_COPY handler
//   MODE/TRANSPORT             a faultline mode of page_server.h on the real
//                              broker, e.g. stream+staging+prefetch/unix
//   criu/lazy-pages            CRIU 3.17, `criu lazy-pages` on local images
//   criu/page-server           CRIU 3.17, `criu page-server --lazy-pages`
//                              over TCP loopback
// Every faultline mode that page_server.h knows is a row without further
// change here: adding a ServeMode (and its name) is what adds the row.
//
// Threading: rows are run one at a time from one thread.
#ifndef FAULTLINE_INTEGRATION_BENCH_PEER_ROW_H_
#define FAULTLINE_INTEGRATION_BENCH_PEER_ROW_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "integration/bench/broker_child.h"
#include "integration/bench/first_touch.h"
#include "integration/bench/touch_plan.h"

namespace faultline::bench {

inline constexpr char kLimitLabel[] = "local";
inline constexpr char kCriuLazyPagesLabel[] = "criu/lazy-pages";
inline constexpr char kCriuPageServerLabel[] = "criu/page-server";

struct PeerWorkload {
  uint64_t region_bytes = 64 << 20;
  TouchOrder order = TouchOrder::kSequential;
  uint64_t stride_pages = 64;
  absl::Duration deadline = absl::Minutes(5);
};

// One repetition of one row.
struct PeerRun {
  FirstTouchRun touches;  // one entry per page, in plan order
  uint64_t pages = 0;
  uint64_t faults = 0;       // faults its server saw on the region
  double setup_seconds = 0;  // CRIU: dump + restore; others: 0
};

class PeerRow {
 public:
  virtual ~PeerRow() = default;
  virtual const std::string& label() const = 0;
  // Where `PeerRun::faults` comes from, for the report.
  virtual const char* faults_source() const = 0;
  // Serves the workload once; fails if serving failed, the deadline passed
  // or any page held the wrong bytes.
  virtual absl::StatusOr<PeerRun> RunOnce(const PeerWorkload& workload) = 0;
};

struct PeerContext {
  const BrokerChild* broker = nullptr;  // faultline rows
  std::string tcp_vm_name;              // the broker's TCP VM and token
  std::string tcp_vm_token;
  uint32_t prefetch = 15;     // prefetch modes' hint
  std::string criu = "criu";  // CRIU rows
  std::string toucher;        // //integration/bench:criu_toucher
  std::string work_dir;       // CRIU rows: scratch, per run below
};

absl::StatusOr<std::unique_ptr<PeerRow>> MakePeerRow(
    const std::string& label, const PeerContext& context);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_PEER_ROW_H_
