// Fuzzes an attach from its serialized AttachRequest: the validation, the
// TCP token check, creating the session (sources opened, pools acquired, a
// staging area), the one check of a fault's target against every region,
// and detaching. What must hold: no crash; a target the check accepts is a
// page inside its region; detach leaves no session behind. Image paths
// point at the run's own file (blocking files are issue 12's defect 2).
#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "broker/devmem/frame_pool_registry.h"
#include "broker/session/authorization.h"
#include "broker/session/region_validation.h"
#include "broker/session/session_registry.h"
#include "broker/sources/memory_store_backend.h"

namespace faultline::broker {
namespace {

struct World {
  std::string dir;
  std::string image_path;
  FramePoolRegistry* pools;
  MemoryStoreBackend stores;
  SessionRegistry* registry;
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    char dir[] = "/tmp/faultline-attach-fuzz-XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    w->dir = dir;
    w->image_path = w->dir + "/image";
    std::ofstream(w->image_path) << std::string(16 * 4096, 'i');
    w->pools = new FramePoolRegistry(w->dir);
    StagingOptions staging;
    staging.dir = w->dir;
    staging.slot_count = 4;
    w->registry =
        new SessionRegistry(*w->pools, w->stores, v1::Limits(), staging);
    return w;
  }();
  return *world;
}

void CheckTargets(const Session& session, const v1::Region& region) {
  const uint64_t size = region.size_bytes();
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, size - 4096, size - 1, size,
                          size + 4096, ~uint64_t{0} - 4095}) {
    absl::StatusOr<SessionRegion*> target =
        session.FaultTarget(region.region_id(), offset);
    if (target.ok() && (offset % 4096 != 0 || offset >= size ||
                        (*target)->region.region_id() != region.region_id())) {
      std::fprintf(stderr,
                   "fault target %#llx accepted in region %u of %#llx bytes\n",
                   static_cast<unsigned long long>(offset), region.region_id(),
                   static_cast<unsigned long long>(size));
      std::abort();
    }
  }
}

}  // namespace
}  // namespace faultline::broker

// Invalid UTF-8 in string fields is the input's business, not a log line.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace faultline::broker;
  World& world = TheWorld();
  faultline::v1::AttachRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  for (faultline::v1::Region& region : *request.mutable_regions()) {
    if (region.source().has_image()) {
      region.mutable_source()->mutable_image()->set_path(world.image_path);
    }
  }
  (void)CheckVmToken({{"tcpvm", "sesame"}}, request);
  if (!ValidateAttach(request).ok()) return 0;
  PeerIdentity peer;
  peer.transport = PeerIdentity::Transport::kUnix;
  peer.has_credentials = true;
  peer.uid = ::getuid();
  peer.pid = ::getpid();
  faultline::v1::AttachResponse response;
  absl::StatusOr<std::shared_ptr<Session>> session =
      world.registry->Attach(request, peer, &response);
  if (!session.ok()) return 0;
  for (const faultline::v1::Region& region : request.regions()) {
    CheckTargets(**session, region);
  }
  if (!world.registry->Detach((*session)->id()).ok()) std::abort();
  if (!world.registry->List().empty()) {
    std::fprintf(stderr, "a session is left after detach\n");
    std::abort();
  }
  return 0;
}
