// The four ways the host fault-path benchmark serves the same guest memory:
//  - local: the limit, an in-process handler thread answering each
//    userfaultfd event with UFFDIO_COPY from memory it already holds;
//  - unary: the naive way, a handler thread making one ResolveFault call per
//    fault to the broker, then UFFDIO_COPY;
//  - stream: protocol v1 through the VMM's own FaultEngine (many faults in
//    flight on the Faults stream);
//  - stream+prefetch: the same with a prefetch hint;
//  - stream+staging, stream+staging+prefetch: the same with page bytes in
//    the broker's shared-memory staging area (Unix socket only); the two
//    modes above keep page bytes inline in gRPC messages.
// All of them use vmm/fault's Userfaultfd wrapper. Destroying a server
// closes its userfaultfd, which releases any thread still blocked on a page.
//
// Threading: each server runs its own threads; Counts() and failure() may be
// called from any thread.
#ifndef FAULTLINE_INTEGRATION_BENCH_PAGE_SERVER_H_
#define FAULTLINE_INTEGRATION_BENCH_PAGE_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/faultline/v1/broker.pb.h"
#include "vmm/memory/guest_memory.h"

namespace faultline::bench {

enum class ServeMode {
  kLocal,
  kUnary,
  kStream,
  kStreamPrefetch,
  kStreamStaging,
  kStreamStagingPrefetch,
  kRing,  // staging and the fault ring (--fault_ring=on)
  kRingPrefetch,
};

// Whether the mode asks for prefetch / a staging area / the fault ring.
bool UsesPrefetch(ServeMode mode);
bool UsesStaging(ServeMode mode);
bool UsesRing(ServeMode mode);
enum class Transport { kInProcess, kUnix, kTcp };

absl::StatusOr<ServeMode> ParseServeMode(const std::string& name);
const char* ServeModeName(ServeMode mode);
const char* TransportName(Transport transport);

struct ServerSpec {
  ServeMode mode = ServeMode::kLocal;
  std::string target;  // broker modes: "unix:PATH" or "HOST:PORT"
  std::string vm_name;
  std::string vm_token;      // TCP only
  uint32_t prefetch = 0;     // prefetch modes: pages asked for with each fault
  absl::Duration ring_spin;  // ring modes: the VMM's spin before it sleeps
};

struct ServerCounts {
  uint64_t faults = 0;       // userfaultfd events sent to the handler
  uint64_t pages = 0;        // pages installed (asked and prefetched)
  uint64_t extra_pages = 0;  // of which prefetched
  uint64_t retries = 0;      // retry answers
};

class PageServer {
 public:
  virtual ~PageServer() = default;
  virtual ServerCounts Counts() const = 0;
  // OK, or why the server stopped serving (touchers may then be stuck until
  // the server is destroyed).
  virtual absl::Status failure() const = 0;
};

// Serves `region` (region_id 1 of `memory`, attached as `attached` where a
// broker is used); `memory` must outlive the server.
absl::StatusOr<std::unique_ptr<PageServer>> StartLocalServer(
    const vmm::GuestMemory* memory, const v1::Region& attached);
absl::StatusOr<std::unique_ptr<PageServer>> StartUnaryServer(
    const vmm::GuestMemory* memory, const v1::Region& attached,
    const ServerSpec& spec);
absl::StatusOr<std::unique_ptr<PageServer>> StartEngineServer(
    const vmm::GuestMemory* memory, const v1::Region& attached,
    const ServerSpec& spec);

// Dispatches on spec.mode.
absl::StatusOr<std::unique_ptr<PageServer>> StartPageServer(
    const vmm::GuestMemory* memory, const v1::Region& attached,
    const ServerSpec& spec);

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_PAGE_SERVER_H_
