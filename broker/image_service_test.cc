// Service tests of image sources (issue 12 items 1 and 2): an image opens
// with the attaching caller's rights, never the broker's; over TCP only
// beneath --image_dir; and only regular files, without ever waiting on one.
// Outside Bazel's sandbox (tags = ["local"]), so a probe can run as uid
// 65534 (nobody) against a root-only file.
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "broker/probe_process.h"
#include "broker/server_test_fixture.h"

namespace faultline::broker {
namespace {

using testing::RunProbe;

constexpr uid_t kNobody = 65534;

class ImageServiceTest : public BrokerServerTest {
 protected:
  void SetUp() override {
    BrokerServerTest::SetUp();
    // Another uid must reach the socket and the files (mkdtemp made 0700).
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  }

  std::string WriteFile(const std::string& name, const std::string& content,
                        mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content << std::string(4096, '.');
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  static v1::Region ImageRegion(const std::string& path) {
    v1::Region region = PatternRegion(1, 0, 4, 1);
    region.mutable_source()->mutable_image()->set_path(path);
    return region;
  }

  // grpc.health.v1.Health/Check for the whole server, answered SERVING.
  static bool HealthServing(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Slice empty;  // An empty HealthCheckRequest: service "".
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", {}, &request,
                   &response, [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    std::vector<grpc::Slice> slices;
    if (!status.ok() || !response.Dump(&slices).ok()) return false;
    std::string bytes;
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    return bytes == std::string("\x08\x01", 2);  // status: SERVING
  }
};

TEST_F(ImageServiceTest, AUnixPeerAttachesOnlyImagesItsUidMayRead) {
  if (!testing::CanRunAsUid(kNobody)) {
    GTEST_SKIP() << "needs root and setpriv to uid 65534";
  }
  const std::string secret = WriteFile("secret.img", "root only", 0600);
  const std::string shared = WriteFile("shared.img", "for all", 0644);
  const std::vector<std::string> socket = {"--socket=" + dir_ + "/broker.sock"};
  auto probe = [&](const std::string& vm, const std::string& image,
                   std::optional<uid_t> uid) {
    std::vector<std::string> args = socket;
    args.push_back("--vm_name=" + vm);
    args.push_back("--image=" + image);
    return RunProbe(args, uid);
  };

  // Before the fix uid 65534 attached the root-only file and read it back.
  testing::ProbeResult denied = probe("nobody-secret", secret, kNobody);
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
  EXPECT_EQ(denied.values["attach"].substr(0, 2), "7 ") << denied.output;
  EXPECT_NE(denied.output.find("permission denied to uid 65534"),
            std::string::npos)
      << denied.output;
  EXPECT_EQ(denied.output.find("root only"), std::string::npos);
  EXPECT_EQ(Sessions().sessions_size(), 0);

  testing::ProbeResult allowed = probe("nobody-shared", shared, kNobody);
  EXPECT_EQ(allowed.values["attach"], "OK") << allowed.output;
  EXPECT_EQ(allowed.values["resolve"], "for all" + std::string(9, '.'))
      << allowed.output;

  // Root may read it, so a root caller may attach it.
  testing::ProbeResult root = probe("root-secret", secret, std::nullopt);
  EXPECT_EQ(root.values["attach"], "OK") << root.output;
  EXPECT_EQ(root.values["resolve"], "root only" + std::string(7, '.'))
      << root.output;
}

TEST_F(ImageServiceTest, TcpImagesComeOnlyFromBeneathTheImageDir) {
  const std::string images = dir_ + "/images";
  ASSERT_EQ(::mkdir(images.c_str(), 0755), 0);
  WriteFile("images/disk.img", "in the dir", 0644);
  const std::string outside = WriteFile("outside.img", "outside", 0644);
  ASSERT_EQ(::symlink(outside.c_str(), (images + "/link.img").c_str()), 0);
  auto attach_over_tcp = [&](const std::string& path) {
    auto stub = v1::FaultBroker::NewStub(TcpChannel());
    v1::AttachResponse response;
    return AttachThrough(*stub, "tcpvm", "sesame", {ImageRegion(path)},
                         &response);
  };

  // No --image_dir: no images over TCP at all (before: any path opened).
  server_.reset();
  StartBroker(dir_, 2048, /*with_tcp=*/true);
  grpc::Status none = attach_over_tcp(outside);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(none.error_message().find("--image_dir"), std::string::npos)
      << none.error_message();

  server_.reset();
  configure_ = [&](BrokerOptions& options) { options.image_dir = images; };
  StartBroker(dir_, 2048, /*with_tcp=*/true);
  EXPECT_TRUE(attach_over_tcp("disk.img").ok());
  for (const std::string& escape :
       {std::string("../outside.img"), outside, std::string("link.img"),
        images + "/disk.img"}) {
    grpc::Status refused = attach_over_tcp(escape);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << escape << ": " << refused.error_message();
  }
  EXPECT_EQ(Sessions().sessions_size(), 1);  // disk.img's
}

TEST_F(ImageServiceTest, AFifoIsRefusedAtOnceAndLeavesNothingBehind) {
  const std::string fifo = dir_ + "/fifo.img";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  // Two at once: before the fix each held a gRPC thread in open() until a
  // writer came, and health checks stopped answering.
  std::vector<grpc::Status> results(2);
  std::vector<std::thread> attaches;
  for (size_t i = 0; i < results.size(); ++i) {
    attaches.emplace_back([&, i] {
      v1::AttachResponse response;
      results[i] =
          Attach("fifo" + std::to_string(i), {ImageRegion(fifo)}, &response);
    });
  }
  for (std::thread& attach : attaches) attach.join();
  for (const grpc::Status& status : results) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
    EXPECT_NE(status.error_message().find("a FIFO, not a regular file"),
              std::string::npos)
        << status.error_message();
  }
  EXPECT_TRUE(HealthServing(channel_));
  // Nobody holds the FIFO open for reading (a writer's open finds no
  // reader), and no session was made: a writer now changes nothing.
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  EXPECT_EQ(writer, -1);
  EXPECT_EQ(errno, ENXIO);
  if (writer >= 0) ::close(writer);
  EXPECT_EQ(Sessions().sessions_size(), 0);
  // Other attaches go on.
  MustAttach("after", {PatternRegion(1, 0, 4, 1)});
}

TEST_F(ImageServiceTest, OnlyRegularFilesAreImages) {
  for (const std::string& path :
       {dir_, std::string("/dev/zero"), std::string("/proc/self/environ")}) {
    v1::AttachResponse response;
    grpc::Status status = Attach("vm", {ImageRegion(path)}, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << path << ": " << status.error_message();
  }
  EXPECT_EQ(Sessions().sessions_size(), 0);
}

}  // namespace
}  // namespace faultline::broker
