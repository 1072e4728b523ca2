// Protocol v1 as the VMM runs it: the VMM's own FaultEngine and
// BrokerTransport (one Faults stream, many faults in flight, optional
// prefetch), unchanged.
#include <memory>

#include "absl/synchronization/mutex.h"
#include "integration/bench/page_server.h"
#include "proto/base/status_macros.h"
#include "vmm/fault/fault_engine.h"

namespace faultline::bench {
namespace {

class EngineServer : public PageServer {
 public:
  static absl::StatusOr<std::unique_ptr<PageServer>> Start(
      const vmm::GuestMemory* memory, const v1::Region& attached,
      const ServerSpec& spec) {
    std::unique_ptr<EngineServer> server(new EngineServer());
    vmm::FaultEngine::Options options;
    options.transport.session.target = spec.target;
    options.transport.session.vm_name = spec.vm_name;
    options.transport.session.vm_token = spec.vm_token;
    options.sources[attached.region_id()] = attached.source();
    options.transport.attach_deadline = absl::Seconds(10);
    options.prefetch_hint = UsesPrefetch(spec.mode) ? spec.prefetch : 0;
    options.transport.staging = UsesStaging(spec.mode)
                                    ? vmm::BrokerTransport::Staging::kAuto
                                    : vmm::BrokerTransport::Staging::kOff;
    options.transport.fault_ring = UsesRing(spec.mode);
    options.transport.fault_ring_spin = spec.ring_spin;
    EngineServer* raw = server.get();
    ASSIGN_OR_RETURN(server->engine_,
                     vmm::FaultEngine::Create(
                         memory, options, [raw](const vmm::StopReason& stop) {
                           absl::MutexLock lock(&raw->mutex_);
                           raw->failure_ = absl::InternalError(stop.message);
                         }));
    return std::unique_ptr<PageServer>(std::move(server));
  }

  ~EngineServer() override {
    // Stop detaches; destroying the engine releases any blocked toucher.
    if (engine_ != nullptr) engine_->Stop();
  }

  ServerCounts Counts() const override {
    const vmm::FaultCountersSnapshot stats = engine_->stats().Snapshot();
    ServerCounts counts;
    counts.faults = stats.faults;
    counts.extra_pages = stats.extra_pages;
    counts.pages = stats.pages + stats.extra_pages;
    counts.retries = stats.retries;
    return counts;
  }

  absl::Status failure() const override {
    absl::MutexLock lock(&mutex_);
    return failure_;
  }

 private:
  EngineServer() = default;

  std::unique_ptr<vmm::FaultEngine> engine_;
  mutable absl::Mutex mutex_;
  absl::Status failure_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<PageServer>> StartEngineServer(
    const vmm::GuestMemory* memory, const v1::Region& attached,
    const ServerSpec& spec) {
  return EngineServer::Start(memory, attached, spec);
}

}  // namespace faultline::bench
