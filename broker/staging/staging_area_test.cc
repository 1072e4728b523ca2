#include "broker/staging/staging_area.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "broker/staging/staging_test_dir.h"
#include "gtest/gtest.h"

namespace faultline::broker {
namespace {

using testing::Page;
using StagingAreaTest = testing::StagingTestDir;

TEST_F(StagingAreaTest, CreatesSizedFileAndRemovesItWhenDestroyed) {
  auto area = StagingArea::Create(path_, 8);
  ASSERT_TRUE(area.ok()) << area.status();
  EXPECT_EQ(std::filesystem::file_size(path_), 8 * kStagingSlotBytes);
  const v1::StagingArea grant = (*area)->Grant();
  EXPECT_EQ(grant.path(), path_);
  EXPECT_EQ(grant.slot_count(), 8u);
  EXPECT_EQ(grant.slot_size(), kStagingSlotBytes);
  area->reset();
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(StagingAreaTest, RefusesBadSizesAndAnExistingFile) {
  EXPECT_EQ(StagingArea::Create(path_, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StagingArea::Create(path_, kMaxStagingSlots + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = StagingArea::Create(path_, 1);
  ASSERT_TRUE(first.ok());
  auto second = StagingArea::Create(path_, 1);
  EXPECT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(path_), absl::string_view::npos);
  // The refused create left the first area's file alone.
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(StagingAreaTest, StagesIntoFreeSlotsUntilFullThenRefuses) {
  auto area = StagingArea::Create(path_, 2);
  ASSERT_TRUE(area.ok());
  const uint64_t epoch = (*area)->BeginEpoch();
  std::optional<uint32_t> a = (*area)->Stage(Page('a'), epoch);
  std::optional<uint32_t> b = (*area)->Stage(Page('b'), epoch);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(*a, *b);
  EXPECT_EQ((*area)->SlotBytes(*a), Page('a'));
  EXPECT_EQ((*area)->SlotBytes(*b), Page('b'));
  EXPECT_FALSE((*area)->Stage(Page('c'), epoch).has_value());
  EXPECT_EQ((*area)->slots_held(), 2u);

  ASSERT_TRUE((*area)->Release(*a, epoch).ok());
  std::optional<uint32_t> c = (*area)->Stage(Page('c'), epoch);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, *a);
  EXPECT_EQ((*area)->SlotBytes(*c), Page('c'));
}

TEST_F(StagingAreaTest, RefusesShortPagesAndStaleEpochs) {
  auto area = StagingArea::Create(path_, 4);
  ASSERT_TRUE(area.ok());
  EXPECT_FALSE((*area)->Stage(Page('a'), 0).has_value());  // no stream yet
  const uint64_t epoch = (*area)->BeginEpoch();
  EXPECT_FALSE((*area)->Stage("short", epoch).has_value());
  EXPECT_FALSE((*area)->Stage(Page('a'), epoch + 1).has_value());
  EXPECT_EQ((*area)->slots_held(), 0u);
}

TEST_F(StagingAreaTest, BadReleasesAreRefusedAndChangeNothing) {
  auto area = StagingArea::Create(path_, 4);
  ASSERT_TRUE(area.ok());
  const uint64_t epoch = (*area)->BeginEpoch();
  std::optional<uint32_t> slot = (*area)->Stage(Page('a'), epoch);
  ASSERT_TRUE(slot.has_value());

  absl::Status outside = (*area)->Release(4, epoch);
  EXPECT_EQ(outside.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(outside.message().find("outside"), absl::string_view::npos);
  absl::Status never = (*area)->Release(*slot + 1, epoch);
  EXPECT_EQ(never.code(), absl::StatusCode::kFailedPrecondition);
  absl::Status other_stream = (*area)->Release(*slot, epoch + 1);
  EXPECT_EQ(other_stream.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*area)->slots_held(), 1u);

  EXPECT_TRUE((*area)->Release(*slot, epoch).ok());
  absl::Status twice = (*area)->Release(*slot, epoch);
  EXPECT_EQ(twice.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(twice.message().find("twice"), absl::string_view::npos);
  EXPECT_EQ((*area)->slots_held(), 0u);
}

TEST_F(StagingAreaTest, NewEpochFreesEverySlotAndOldReleasesAreRefused) {
  auto area = StagingArea::Create(path_, 2);
  ASSERT_TRUE(area.ok());
  const uint64_t old_epoch = (*area)->BeginEpoch();
  std::optional<uint32_t> slot = (*area)->Stage(Page('a'), old_epoch);
  ASSERT_TRUE(slot.has_value());
  const uint64_t epoch = (*area)->BeginEpoch();
  EXPECT_EQ((*area)->slots_held(), 0u);
  EXPECT_FALSE((*area)->Stage(Page('b'), old_epoch).has_value());
  std::optional<uint32_t> again = (*area)->Stage(Page('b'), epoch);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ((*area)->Release(*again, old_epoch).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*area)->Release(*again, epoch).ok());
}

TEST_F(StagingAreaTest, RemoveFileKeepsTheMappingUsable) {
  auto area = StagingArea::Create(path_, 1);
  ASSERT_TRUE(area.ok());
  (*area)->RemoveFile();
  EXPECT_FALSE(std::filesystem::exists(path_));
  const uint64_t epoch = (*area)->BeginEpoch();
  std::optional<uint32_t> slot = (*area)->Stage(Page('z'), epoch);
  ASSERT_TRUE(slot.has_value());
  EXPECT_EQ((*area)->SlotBytes(*slot), Page('z'));
  (*area)->RemoveFile();  // idempotent
}

// A page whose first read blocks until Fill(): a userfaultfd-registered
// page, so a test can stop a copy out of it halfway, at a chosen point.
class BlockingPage {
 public:
  BlockingPage() {
    // User-mode faults only: allowed without privileges.
    uffd_ = static_cast<int>(
        ::syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
    if (uffd_ < 0) return;
    uffdio_api api = {};
    api.api = UFFD_API;
    void* page = ::mmap(nullptr, kStagingSlotBytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (::ioctl(uffd_, UFFDIO_API, &api) != 0 || page == MAP_FAILED) return;
    uffdio_register reg = {};
    reg.range.start = reinterpret_cast<uint64_t>(page);
    reg.range.len = kStagingSlotBytes;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (::ioctl(uffd_, UFFDIO_REGISTER, &reg) == 0) {
      page_ = static_cast<char*>(page);
    }
  }
  ~BlockingPage() {
    if (page_ != nullptr) ::munmap(page_, kStagingSlotBytes);
    if (uffd_ >= 0) ::close(uffd_);
  }
  bool ok() const { return page_ != nullptr; }
  absl::string_view bytes() const { return {page_, kStagingSlotBytes}; }
  // Waits (up to 10 s) until a thread is blocked reading the page.
  bool WaitForReader() {
    pollfd ready = {uffd_, POLLIN, 0};
    uffd_msg message;
    return ::poll(&ready, 1, 10'000) == 1 &&
           ::read(uffd_, &message, sizeof(message)) == sizeof(message);
  }
  // Gives the page `fill` bytes and lets the blocked reader go on.
  bool Fill(char fill) {
    const std::string source = Page(fill);
    uffdio_copy copy = {};
    copy.dst = reinterpret_cast<uint64_t>(page_);
    copy.src = reinterpret_cast<uint64_t>(source.data());
    copy.len = kStagingSlotBytes;
    return ::ioctl(uffd_, UFFDIO_COPY, &copy) == 0;
  }

 private:
  int uffd_ = -1;
  char* page_ = nullptr;
};

// A worker of the old stream may still be copying its page when the VMM's
// new stream frees every slot (BeginEpoch). Its late copy must not land in
// the slot the new stream is handed: the VMM would install those bytes for
// another page. The old copy is held halfway by a blocking source page.
TEST_F(StagingAreaTest, AnOldStreamsLateCopyNeverOverwritesANewStreamsSlot) {
  BlockingPage old_page;
  ASSERT_TRUE(old_page.ok()) << "userfaultfd: " << std::strerror(errno);
  auto area = StagingArea::Create(path_, 1);
  ASSERT_TRUE(area.ok());
  StagingArea& staging = **area;
  const uint64_t old_epoch = staging.BeginEpoch();
  std::thread old_stream(
      [&] { staging.Stage(old_page.bytes(), old_epoch).reset(); });
  ASSERT_TRUE(old_page.WaitForReader());  // the old copy is under way
  std::optional<uint32_t> slot;
  absl::Notification staged;
  std::thread new_stream([&] {
    slot = staging.Stage(Page('n'), staging.BeginEpoch());
    staged.Notify();
  });
  // Long enough for the new stream to take the slot if nothing stops it.
  staged.WaitForNotificationWithTimeout(absl::Seconds(1));
  ASSERT_TRUE(old_page.Fill('o'));  // the old copy finishes
  old_stream.join();
  new_stream.join();
  ASSERT_TRUE(slot.has_value());
  EXPECT_TRUE(staging.SlotBytes(*slot) == Page('n'))
      << "the new stream's slot holds the old stream's page";
}

}  // namespace
}  // namespace faultline::broker
