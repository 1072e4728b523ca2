#include "broker/devmem/frame_revocations.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

std::shared_ptr<FramePool> FirstTouchPool(const std::string& file,
                                          uint64_t frames) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  FramePool::Options options;
  options.name = file;
  options.path = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + file;
  options.frame_count = frames;
  options.policy = v1::FRAME_POLICY_FIRST_TOUCH;
  options.remove_file_on_destruction = true;
  auto pool = FramePool::Create(options);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? std::shared_ptr<FramePool>(*std::move(pool)) : nullptr;
}

TEST(FrameRevocationsTest, FrameComesBackOnlyWhenTheVmmConfirms) {
  std::shared_ptr<FramePool> pool = FirstTouchPool("revocations", 1);
  ASSERT_NE(pool, nullptr);
  ASSERT_EQ(*pool->FrameFor(3), 0u);
  FrameRevocations revocations("session s1");
  std::vector<v1::FaultStreamResponse> sent;
  absl::StatusOr<uint64_t> id = revocations.Revoke(
      pool, 2, 3 * 4096, [&](v1::FaultStreamResponse message) {
        sent.push_back(std::move(message));
        return true;
      });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].revocation().revocation_id(), *id);
  EXPECT_EQ(sent[0].revocation().region_id(), 2u);
  EXPECT_EQ(sent[0].revocation().offset(), 3 * 4096u);
  EXPECT_EQ(sent[0].revocation().frame(), 0u);
  // Not confirmed yet: the frame is still awaiting its unmap.
  EXPECT_EQ(pool->FrameFor(4).status().code(),
            absl::StatusCode::kResourceExhausted);
  revocations.Confirm(*id + 100);  // Unknown: ignored.
  revocations.Confirm(*id);
  revocations.Confirm(*id);  // Twice (a reconnected VMM): ignored.
  EXPECT_EQ(*pool->FrameFor(4), 0u);
}

TEST(FrameRevocationsTest, EndedStreamUndoesTheRevocation) {
  std::shared_ptr<FramePool> pool = FirstTouchPool("revocations_undone", 1);
  ASSERT_NE(pool, nullptr);
  ASSERT_EQ(*pool->FrameFor(0), 0u);
  FrameRevocations revocations("session s2");
  absl::StatusOr<uint64_t> id = revocations.Revoke(
      pool, 1, 0, [](v1::FaultStreamResponse) { return false; });
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(id.status().message().find("session s2"), std::string::npos);
  // The frame is free again at once.
  EXPECT_EQ(*pool->FrameFor(1), 0u);
  // A page with no frame cannot be revoked.
  EXPECT_EQ(revocations
                .Revoke(pool, 1, 5 * 4096,
                        [](v1::FaultStreamResponse) { return true; })
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace faultline::broker
