#include "vmm/fault/userfaultfd.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "vmm/memory/anonymous_mapping.h"

namespace faultline::vmm {
namespace {

constexpr size_t kPage = 4096;

TEST(UserfaultfdTest, CopyResolvesAFaultAndReportsTheThread) {
  auto uffd = Userfaultfd::Create();
  ASSERT_TRUE(uffd.ok()) << uffd.status();
  auto memory = AnonymousMapping::Create(4 * kPage);
  ASSERT_TRUE(memory.ok());
  uint8_t* base = (*memory)->data();
  ASSERT_TRUE((*uffd)->Register(base, 4 * kPage).ok());

  std::atomic<int> toucher_tid{0};
  uint8_t seen = 0;
  std::thread toucher([&] {
    toucher_tid = static_cast<int>(::syscall(SYS_gettid));
    seen = base[kPage + 10];  // blocks until resolved
  });
  std::vector<UserFault> faults;
  for (int i = 0; i < 100 && faults.empty(); ++i) {
    auto read = (*uffd)->ReadFaults(absl::Milliseconds(100), -1);
    ASSERT_TRUE(read.ok()) << read.status();
    faults = *read;
  }
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].address, reinterpret_cast<uint64_t>(base + kPage));
  EXPECT_FALSE(faults[0].write);
  uint8_t page[kPage];
  std::memset(page, 0x5A, sizeof(page));
  ASSERT_TRUE((*uffd)->Copy(faults[0].address, page, kPage, true).ok());
  toucher.join();
  EXPECT_EQ(seen, 0x5A);
  EXPECT_EQ(static_cast<int>(faults[0].thread_id), toucher_tid.load());

  // A second copy finds the page present.
  EXPECT_TRUE(absl::IsAlreadyExists(
      (*uffd)->Copy(faults[0].address, page, kPage, true)));
  EXPECT_TRUE(
      absl::IsAlreadyExists((*uffd)->ZeroPage(faults[0].address, kPage, true)));
}

TEST(UserfaultfdTest, ZeroPageDontWakeThenWake) {
  auto uffd = Userfaultfd::Create();
  ASSERT_TRUE(uffd.ok()) << uffd.status();
  auto memory = AnonymousMapping::Create(2 * kPage);
  ASSERT_TRUE(memory.ok());
  uint8_t* base = (*memory)->data();
  ASSERT_TRUE((*uffd)->Register(base, 2 * kPage).ok());
  const auto address = reinterpret_cast<uint64_t>(base);
  ASSERT_TRUE((*uffd)->ZeroPage(address, kPage, false).ok());
  ASSERT_TRUE((*uffd)->Wake(address, kPage).ok());
  EXPECT_EQ(base[5], 0);  // present now: no fault, no event
  auto faults = (*uffd)->ReadFaults(absl::ZeroDuration(), -1);
  ASSERT_TRUE(faults.ok());
  EXPECT_TRUE(faults->empty());
}

TEST(UserfaultfdTest, PoisonWhereTheKernelHasIt) {
  auto uffd = Userfaultfd::Create();
  ASSERT_TRUE(uffd.ok()) << uffd.status();
  auto memory = AnonymousMapping::Create(kPage);
  ASSERT_TRUE(memory.ok());
  ASSERT_TRUE((*uffd)->Register((*memory)->data(), kPage).ok());
  const auto address = reinterpret_cast<uint64_t>((*memory)->data());
  absl::Status status = (*uffd)->Poison(address, kPage);
  if (!(*uffd)->has_poison()) {
    EXPECT_TRUE(absl::IsUnimplemented(status));
    return;
  }
  EXPECT_TRUE(status.ok()) << status;
  // The page is now taken; nothing else can be installed there.
  EXPECT_FALSE((*uffd)->ZeroPage(address, kPage, true).ok());
}

TEST(UserfaultfdTest, PlaceholderOverAFrameFaultsAgain) {
  auto uffd = Userfaultfd::Create();
  ASSERT_TRUE(uffd.ok()) << uffd.status();
  auto memory = AnonymousMapping::Create(2 * kPage);
  ASSERT_TRUE(memory.ok());
  uint8_t* base = (*memory)->data();
  ASSERT_TRUE((*uffd)->Register(base, 2 * kPage).ok());
  // A device frame mapped over page 0, as the engine maps frame answers.
  const int frame = ::memfd_create("frame", MFD_CLOEXEC);
  ASSERT_GE(frame, 0);
  ASSERT_EQ(::ftruncate(frame, kPage), 0);
  ASSERT_NE(::mmap(base, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                   frame, 0),
            MAP_FAILED);
  ::close(frame);
  base[0] = 'f';

  // Someone must read the events (the remap one included) meanwhile.
  std::atomic<bool> done{false};
  std::vector<UserFault> faults;
  std::thread reader([&] {
    while (!done) {
      auto read = (*uffd)->ReadFaults(absl::Milliseconds(20), -1);
      if (!read.ok()) return;
      for (const UserFault& fault : *read) {
        faults.push_back(fault);
        static const uint8_t kPageOfN[kPage] = {'n'};
        (void)(*uffd)->Copy(fault.address, kPageOfN, kPage, /*wake=*/true);
      }
    }
  });
  absl::Status replaced =
      (*uffd)->ReplaceWithPlaceholder(reinterpret_cast<uint64_t>(base), kPage);
  EXPECT_TRUE(replaced.ok()) << replaced;
  const uint8_t seen = static_cast<volatile uint8_t*>(base)[0];
  done = true;
  reader.join();
  EXPECT_EQ(seen, 'n') << "the frame is gone and the touch was a fault";
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].address, reinterpret_cast<uint64_t>(base));
}

TEST(UserfaultfdTest, RegisterRefusesUnalignedRange) {
  auto uffd = Userfaultfd::Create();
  ASSERT_TRUE(uffd.ok()) << uffd.status();
  auto memory = AnonymousMapping::Create(2 * kPage);
  ASSERT_TRUE(memory.ok());
  EXPECT_FALSE((*uffd)->Register((*memory)->data() + 1, kPage).ok());
}

}  // namespace
}  // namespace faultline::vmm
