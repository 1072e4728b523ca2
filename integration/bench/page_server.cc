#include "integration/bench/page_server.h"

#include "absl/strings/str_cat.h"

namespace faultline::bench {

absl::StatusOr<ServeMode> ParseServeMode(const std::string& name) {
  if (name == "local") return ServeMode::kLocal;
  if (name == "unary") return ServeMode::kUnary;
  if (name == "stream") return ServeMode::kStream;
  if (name == "stream+prefetch") return ServeMode::kStreamPrefetch;
  if (name == "stream+staging") return ServeMode::kStreamStaging;
  if (name == "stream+staging+prefetch") {
    return ServeMode::kStreamStagingPrefetch;
  }
  if (name == "ring") return ServeMode::kRing;
  if (name == "ring+prefetch") return ServeMode::kRingPrefetch;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown mode '", name,
                   "' (local, unary, stream, stream+prefetch, stream+staging, "
                   "stream+staging+prefetch, ring, ring+prefetch)"));
}

bool UsesPrefetch(ServeMode mode) {
  return mode == ServeMode::kStreamPrefetch ||
         mode == ServeMode::kStreamStagingPrefetch ||
         mode == ServeMode::kRingPrefetch;
}

bool UsesStaging(ServeMode mode) {
  return mode == ServeMode::kStreamStaging ||
         mode == ServeMode::kStreamStagingPrefetch || UsesRing(mode);
}

bool UsesRing(ServeMode mode) {
  return mode == ServeMode::kRing || mode == ServeMode::kRingPrefetch;
}

const char* ServeModeName(ServeMode mode) {
  switch (mode) {
    case ServeMode::kLocal:
      return "local";
    case ServeMode::kUnary:
      return "unary";
    case ServeMode::kStream:
      return "stream";
    case ServeMode::kStreamPrefetch:
      return "stream+prefetch";
    case ServeMode::kStreamStaging:
      return "stream+staging";
    case ServeMode::kStreamStagingPrefetch:
      return "stream+staging+prefetch";
    case ServeMode::kRing:
      return "ring";
    case ServeMode::kRingPrefetch:
      return "ring+prefetch";
  }
  return "unknown";
}

const char* TransportName(Transport transport) {
  switch (transport) {
    case Transport::kInProcess:
      return "in-process";
    case Transport::kUnix:
      return "unix";
    case Transport::kTcp:
      return "tcp";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<PageServer>> StartPageServer(
    const vmm::GuestMemory* memory, const v1::Region& attached,
    const ServerSpec& spec) {
  switch (spec.mode) {
    case ServeMode::kLocal:
      return StartLocalServer(memory, attached);
    case ServeMode::kUnary:
      return StartUnaryServer(memory, attached, spec);
    case ServeMode::kStream:
    case ServeMode::kStreamPrefetch:
    case ServeMode::kStreamStaging:
    case ServeMode::kStreamStagingPrefetch:
    case ServeMode::kRing:
    case ServeMode::kRingPrefetch:
      return StartEngineServer(memory, attached, spec);
  }
  return absl::InvalidArgumentError("unknown serve mode");
}

}  // namespace faultline::bench
