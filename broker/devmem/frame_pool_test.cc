#include "broker/devmem/frame_pool.h"

#include <cstdlib>
#include <filesystem>

#include "broker/devmem/frame_pool_registry.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

std::string TestDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

FramePool::Options PoolOptions(const std::string& file, uint64_t frames,
                               v1::FramePolicy policy) {
  FramePool::Options options;
  options.name = file;
  options.path = TestDir() + "/" + file;
  options.frame_count = frames;
  options.policy = policy;
  return options;
}

TEST(FramePoolTest, IdentityWrapsModFrameCount) {
  auto pool =
      FramePool::Create(PoolOptions("identity", 3, v1::FRAME_POLICY_IDENTITY));
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ(*(*pool)->FrameFor(0), 0u);
  EXPECT_EQ(*(*pool)->FrameFor(4), 1u);
  EXPECT_EQ(*(*pool)->FrameFor(5), 2u);
  EXPECT_EQ((*pool)->frames_in_use(), 3u);
  EXPECT_EQ(std::filesystem::file_size(TestDir() + "/identity"), 3 * 4096u);
}

TEST(FramePoolTest, FirstTouchExhaustsThenReusesConfirmedRevocations) {
  auto pool = FramePool::Create(
      PoolOptions("first_touch", 2, v1::FRAME_POLICY_FIRST_TOUCH));
  ASSERT_TRUE(pool.ok());
  FramePool& p = **pool;
  auto a = p.FrameFor(10);
  auto b = p.FrameFor(20);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*p.FrameFor(10), *a) << "a page keeps its frame";
  auto none = p.FrameFor(30);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(none.status().message().find("all 2 frames"), std::string::npos);

  auto revoked = p.Revoke(10);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, *a);
  EXPECT_FALSE(p.FrameFor(30).ok()) << "not free until the VMM confirms";
  p.ReleaseRevoked(*a);
  EXPECT_EQ(*p.FrameFor(30), *a);
  EXPECT_EQ(p.Revoke(99).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FramePoolTest, ReadWriteAndRangeChecks) {
  auto pool =
      FramePool::Create(PoolOptions("rw", 4, v1::FRAME_POLICY_IDENTITY));
  ASSERT_TRUE(pool.ok());
  ASSERT_TRUE((*pool)->WriteFrames(1, std::string(2 * 4096, 'w')).ok());
  auto data = (*pool)->ReadFrames(0, 3);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->substr(0, 4096), std::string(4096, '\0'));
  EXPECT_EQ(data->substr(4096), std::string(2 * 4096, 'w'));
  EXPECT_EQ((*pool)->ReadFrames(3, 2).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*pool)->WriteFrames(0, "short").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FramePoolTest, ExistingFileKeepsContent) {
  {
    auto pool =
        FramePool::Create(PoolOptions("kept", 2, v1::FRAME_POLICY_IDENTITY));
    ASSERT_TRUE(pool.ok());
    ASSERT_TRUE((*pool)->WriteFrames(1, std::string(4096, 'k')).ok());
  }
  auto grown =
      FramePool::Create(PoolOptions("kept", 4, v1::FRAME_POLICY_IDENTITY));
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(*(*grown)->ReadFrames(1, 1), std::string(4096, 'k'));
}

TEST(FramePoolRegistryTest, PrivatePoolsPerSessionAndRemovedAtRelease) {
  FramePoolRegistry registry(TestDir());
  v1::DeviceSource device;
  device.set_pool("priv");
  device.set_frame_count(2);
  auto a = registry.Acquire(device, "s1");
  auto b = registry.Acquire(device, "s2");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  const std::string path = (*a)->options().path;
  EXPECT_EQ(path, TestDir() + "/faultline-priv-s1");
  EXPECT_NE(registry.Find("priv@s1"), nullptr);
  registry.Release("priv@s1", "s1");
  a->reset();
  EXPECT_EQ(registry.Find("priv@s1"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(FramePoolRegistryTest, WritesFramesOfAPoolNobodyAttachedYet) {
  FramePoolRegistry registry(TestDir());
  // Only an explicit size creates the file.
  EXPECT_EQ(registry.WriteFrames("early", 1, std::string(4096, 'e')).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(registry.WriteFrames("early", 1, std::string(4096, 'e'), 2).ok());
  v1::DeviceSource device;
  device.set_pool("early");
  device.set_frame_count(4);
  device.set_sharing(v1::SHARING_SHARED);
  auto pool = registry.Acquire(device, "s");
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(*(*pool)->ReadFrames(1, 1), std::string(4096, 'e'));
  EXPECT_EQ(registry.ReadFrames("nope", 0, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.WriteFrames("../etc", 0, std::string(4096, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace faultline::broker
