#include "broker/sources/store_source.h"

#include "broker/sources/memory_store_backend.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

using v1::wire::kPageBytes;

TEST(StoreSourceTest, MissingPageRetriesOrZeroes) {
  MemoryStoreBackend backend;
  StoreSource retrying(backend, "s", /*missing_is_zero=*/false);
  StoreSource zeroing(backend, "s", /*missing_is_zero=*/true);
  v1::FaultAnswer answer;
  retrying.Answer(0, &answer);
  ASSERT_TRUE(answer.has_retry());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE);
  EXPECT_GT(answer.retry().delay_hint_us(), 0u);
  answer.Clear();
  zeroing.Answer(0, &answer);
  EXPECT_TRUE(answer.has_zero());
  EXPECT_FALSE(retrying.MayBlock()) << "memory answers on the gRPC thread";
}

TEST(StoreSourceTest, BusyWhileWrittenThenPage) {
  MemoryStoreBackend backend;
  StoreSource source(backend, "s", false);
  std::shared_ptr<PageStore> store = backend.stores().GetOrCreate("s");
  ASSERT_TRUE(store->BeginWrite(0, kPageBytes).ok());
  v1::FaultAnswer answer;
  source.Answer(0, &answer);
  ASSERT_TRUE(answer.has_retry());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_BUSY);
  store->EndWrite(0, std::string(kPageBytes, 'd'));
  answer.Clear();
  source.Answer(0, &answer);
  ASSERT_TRUE(answer.has_page());
  EXPECT_EQ(answer.page().data(), std::string(kPageBytes, 'd'));
}

TEST(StoreSourceTest, DeletedStoreReadsAsMissingForRegionsThatNamedIt) {
  MemoryStoreBackend backend;
  StoreSource source(backend, "s", false);
  ASSERT_TRUE(
      backend.Write("s", 0, std::string(kPageBytes, 'e'), absl::Now()).ok());
  v1::FaultAnswer answer;
  source.Answer(0, &answer);
  ASSERT_TRUE(answer.has_page());
  ASSERT_TRUE(backend.Delete("s", absl::Now()).ok());
  answer.Clear();
  source.Answer(0, &answer);
  ASSERT_TRUE(answer.has_retry());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE);
}

// A backend whose pages are chosen by the test, counting reads.
class ScriptedBackend : public MemoryStoreBackend {
 public:
  std::vector<StorePage> Read(absl::string_view, uint64_t, uint32_t count,
                              absl::Time deadline) override {
    ++reads;
    last_deadline = deadline;
    std::vector<StorePage> pages(count);
    for (uint32_t i = 0; i < count && i < script.size(); ++i) {
      pages[i] = script[i];
    }
    return pages;
  }
  bool MayBlock() const override { return true; }

  std::vector<StorePage> script;
  int reads = 0;
  absl::Time last_deadline;
};

StorePage Present(char fill) {
  StorePage page;
  page.state = StorePage::State::kPresent;
  page.data = std::make_shared<const std::string>(kPageBytes, fill);
  return page;
}

TEST(StoreSourceTest, RunIsOneReadAndStopsAtTheFirstPageNotThere) {
  ScriptedBackend backend;
  StorePage down;
  down.state = StorePage::State::kUnavailable;
  down.reason = "redis 127.0.0.1:7001: connect: Connection refused";
  backend.script = {Present('a'), Present('b'), down, Present('d')};
  StoreSource source(backend, "s", /*missing_is_zero=*/true);
  EXPECT_TRUE(source.MayBlock());
  std::vector<v1::FaultAnswer> answers;
  const absl::Time before = absl::Now();
  source.AnswerRun(8 * kPageBytes, 4, &answers);
  EXPECT_EQ(backend.reads, 1);
  EXPECT_GE(backend.last_deadline, before + kStoreReadTimeout);
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[1].page().data(), std::string(kPageBytes, 'b'));
  // Unavailable is a retry with its own reason and the backend's words,
  // never zero, even where missing pages are zero.
  ASSERT_TRUE(answers[2].has_retry());
  EXPECT_EQ(answers[2].retry().reason(), v1::RETRY_REASON_STORE_UNAVAILABLE);
  EXPECT_EQ(answers[2].retry().delay_hint_us(), kStoreUnavailableRetryDelayUs);
  EXPECT_NE(answers[2].retry().detail().find("Connection refused"),
            std::string::npos)
      << answers[2].retry().detail();
  EXPECT_NE(answers[2].retry().detail().find("40960"), std::string::npos);
}

}  // namespace
}  // namespace faultline::broker
