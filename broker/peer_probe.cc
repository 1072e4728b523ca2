// peer_probe: a broker client in a process of its own, for service tests
// that need a caller the test process is not: another uid (run under
// setpriv), or a VMM that can be SIGKILLed. It attaches one VM, reports
// what it got and tried on stdout as "key: value" lines, and with --stream
// keeps a Faults stream open until it is killed. For tests only.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "broker/test_client.h"
#include "proto/faultline/v1/wire.h"

ABSL_FLAG(std::string, socket, "", "the broker's Unix socket");
ABSL_FLAG(std::string, vm_name, "probe", "the VM name to attach");
ABSL_FLAG(std::string, image, "",
          "region 1 is this image file (a pattern region otherwise)");
ABSL_FLAG(bool, staging, false, "ask for a staging area");
ABSL_FLAG(std::string, private_pool, "",
          "also attach a private device pool of this name as region 2");
ABSL_FLAG(std::string, shared_pool, "",
          "also attach a shared device pool of this name as region 3");
ABSL_FLAG(bool, stream, false,
          "open a Faults stream, fault page 0 and wait to be killed");
ABSL_FLAG(bool, hold_connection, false,
          "with --stream: fork a child that keeps this process's descriptors "
          "(its broker connection among them) open for 30 s, as a VMM's "
          "helper process may; reports 'holder: PID'");

namespace faultline::broker::testing {
namespace {

void Report(const char *key, const std::string &value) {
  std::printf("%s: %s\n", key, value.c_str());
  std::fflush(stdout);
}

// Whether this process can open `path` read-only and read a byte.
std::string TryOpen(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  char byte;
  const ssize_t n = ::pread(fd, &byte, 1, 0);
  const int saved = errno;
  ::close(fd);
  return n >= 0 ? "ok" : std::strerror(saved);
}

int Run() {
  auto channel = ConnectUnix(absl::GetFlag(FLAGS_socket));
  auto stub = v1::FaultBroker::NewStub(channel);
  v1::AttachRequest request;
  request.set_protocol_version(v1::wire::kProtocolVersion);
  request.set_vm_name(absl::GetFlag(FLAGS_vm_name));
  request.set_want_staging(absl::GetFlag(FLAGS_staging));
  v1::Region ram = PatternRegion(1, 0, 16, 5);
  if (!absl::GetFlag(FLAGS_image).empty()) {
    ram.mutable_source()->mutable_image()->set_path(absl::GetFlag(FLAGS_image));
  }
  *request.add_regions() = ram;
  if (!absl::GetFlag(FLAGS_private_pool).empty()) {
    *request.add_regions() =
        DeviceRegion(2, 0x100000000, 4, absl::GetFlag(FLAGS_private_pool), 4,
                     v1::FRAME_POLICY_IDENTITY, v1::SHARING_PRIVATE);
  }
  if (!absl::GetFlag(FLAGS_shared_pool).empty()) {
    *request.add_regions() =
        DeviceRegion(3, 0x200000000, 4, absl::GetFlag(FLAGS_shared_pool), 4,
                     v1::FRAME_POLICY_IDENTITY, v1::SHARING_SHARED);
  }
  v1::AttachResponse attached;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = stub->Attach(&context, request, &attached);
    Report("attach", status.ok() ? "OK"
                                 : std::to_string(status.error_code()) + " " +
                                       status.error_message());
    if (!status.ok()) return 1;
  }
  Report("session", attached.session_id());
  if (attached.has_staging()) {
    Report("staging", attached.staging().path());
    Report("open staging", TryOpen(attached.staging().path()));
  }
  for (const v1::RegionGrant &grant : attached.regions()) {
    if (grant.device_memory_path().empty()) continue;
    const std::string region = std::to_string(grant.region_id());
    Report(("pool " + region).c_str(), grant.device_memory_path());
    Report(("open pool " + region).c_str(),
           TryOpen(grant.device_memory_path()));
  }
  if (!absl::GetFlag(FLAGS_stream)) {
    v1::ResolveFaultRequest resolve;
    resolve.set_session_id(attached.session_id());
    resolve.mutable_fault()->set_fault_id(1);
    resolve.mutable_fault()->set_region_id(1);
    v1::FaultAnswer answer;
    grpc::ClientContext context;
    SetDeadline(&context);
    context.AddMetadata(v1::wire::kSessionTokenKey, attached.session_token());
    grpc::Status status = stub->ResolveFault(&context, resolve, &answer);
    Report("resolve", status.ok() ? answer.page().data().substr(0, 16)
                                  : status.error_message());
    return 0;
  }
  auto stream = FaultStreamClient::Open(channel, attached.session_id(),
                                        attached.session_token());
  if (!stream.ok()) {
    Report("stream", std::string(stream.status().message()));
    return 1;
  }
  (*stream)->SendFault(1, 1, 0);
  Report("stream", (*stream)->WaitAnswer(1, kRpcDeadline).has_value()
                       ? "answered"
                       : "no answer");
  if (absl::GetFlag(FLAGS_hold_connection)) {
    const pid_t holder = ::fork();
    if (holder == 0) {
      // Only async-signal-safe calls here: the parent has gRPC's threads.
      for (int second = 0; second < 30; ++second) ::sleep(1);
      ::_exit(0);
    }
    Report("holder", std::to_string(holder));
  }
  // Until the test kills this process; bounded all the same.
  absl::SleepFor(absl::Seconds(300));
  return 0;
}

}  // namespace
}  // namespace faultline::broker::testing

int main(int argc, char **argv) {
  absl::ParseCommandLine(argc, argv);
  return faultline::broker::testing::Run();
}
