// The fault engine end to end against the real broker binary on a Unix
// socket, with plain host threads touching registered memory in place of
// vCPUs. Every wait is bounded; a thread left blocked on a page is released
// when its engine is destroyed (the userfaultfd closes).
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#include <atomic>
#include <cstring>

#include "vmm/fault/fault_engine_test_fixture.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;
namespace abi = ::faultline::guest_abi;

TEST_F(FaultEngineTest, PatternPagesArriveVerified) {
  ASSERT_TRUE(StartEngine({RamRegion(256, Pattern(7))}).ok());
  TouchInBackground(kRamId, 0, 256, 4);
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(7, 0, 256), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(PagesInstalledByAnswers(stats), 256u);
  EXPECT_EQ(stats.rejected_answers, 0u);
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

TEST_F(FaultEngineTest, ZeroPagesAreZeroAndWritable) {
  v1::Source zero;
  zero.mutable_zero();
  ASSERT_TRUE(StartEngine({RamRegion(16, zero)}).ok());
  uint8_t* base = Host(kRamId);
  threads_.emplace_back([base] {
    for (int page = 0; page < 16; ++page) base[page * kPage + 100] = 0xEE;
  });
  JoinTouchers();
  for (int page = 0; page < 16; ++page) {
    EXPECT_EQ(base[page * kPage], 0);
    EXPECT_EQ(base[page * kPage + 100], 0xEE);
  }
  EXPECT_EQ(engine_->stats().Snapshot().zeros, 16u);
}

TEST_F(FaultEngineTest, PrefetchInstallsFollowingPagesWithoutFaults) {
  ASSERT_TRUE(
      StartEngine({RamRegion(64, Pattern(11))}, RetryOptions(), 7).ok());
  TouchInBackground(kRamId, 0, 1, 1);
  JoinTouchers();
  const FaultCountersSnapshot after_first = engine_->stats().Snapshot();
  TouchInBackground(kRamId, 1, 7, 1);
  JoinTouchers();
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(PatternMismatches(11, 0, 8), 0u);
  // Whatever the broker prefetched did not fault again.
  EXPECT_EQ(stats.faults, 1 + (7 - after_first.extra_pages));
  std::printf("prefetch: %lu extra pages with the first answer\n",
              static_cast<unsigned long>(after_first.extra_pages));
}

TEST_F(FaultEngineTest, RetryBudgetStopsWithTheReason) {
  RetryOptions retry;
  retry.budget = 3;
  ASSERT_TRUE(StartEngine({RamRegion(8, Pattern(3))}, retry).ok());
  v1::InjectionRule rule;
  rule.set_region_id(kRamId);
  rule.mutable_retry()->set_reason(v1::RETRY_REASON_OVER_QUOTA);
  rule.mutable_retry()->set_delay_hint_us(100);
  Inject(rule);
  TouchInBackground(kRamId, 5, 1, 1);
  std::optional<StopReason> fatal = WaitForFatal(absl::Seconds(20));
  ASSERT_TRUE(fatal.has_value());
  EXPECT_EQ(fatal->kind, StopKind::kFaultDeadline);
  EXPECT_THAT(fatal->message, HasSubstr("retry budget of 3"));
  EXPECT_THAT(fatal->message, HasSubstr("over_quota"));
  EXPECT_THAT(fatal->message, HasSubstr("guest-physical page 0x205000"));
  EXPECT_EQ(fatal->page, kRamBase + 5 * kPage);
}

// A touch of a poisoned page: SIGBUS, caught and escaped from, per thread.
thread_local sigjmp_buf* bus_error_escape = nullptr;
thread_local int bus_error_code = 0;
thread_local uint64_t bus_error_address = 0;

void OnTouchBusError(int, siginfo_t* info, void*) {
  bus_error_code = info->si_code;
  bus_error_address = reinterpret_cast<uint64_t>(info->si_addr);
  siglongjmp(*bus_error_escape, 1);
}

struct BusError {
  int code = 0;
  uint64_t address = 0;
};

// Reads one byte at `address`; the bus error it raised, if any.
std::optional<BusError> TouchCatchingBusError(const uint8_t* address) {
  struct sigaction action = {};
  action.sa_sigaction = OnTouchBusError;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  if (::sigaction(SIGBUS, &action, nullptr) != 0) return BusError{-1, 0};
  sigjmp_buf escape;
  bus_error_escape = &escape;
  if (sigsetjmp(escape, 1) != 0) {
    return BusError{bus_error_code, bus_error_address};
  }
  (void)*static_cast<const volatile uint8_t*>(address);
  return std::nullopt;
}

TEST_F(FaultEngineTest, ErrorAnswerPoisonsThePageWhenAsked) {
  poison_error_pages_ = true;
  ASSERT_TRUE(StartEngine({RamRegion(8, Pattern(3))}).ok());
  if (!engine_->poisons_error_pages()) {
    GTEST_SKIP() << "this kernel has no UFFDIO_POISON";
  }
  v1::InjectionRule rule;
  rule.set_region_id(kRamId);
  rule.set_first_offset(kPage);
  rule.set_last_offset(kPage);
  rule.mutable_error()->set_kind(v1::ERROR_KIND_BUS_ERROR);
  rule.mutable_error()->set_message("disk on fire");
  Inject(rule);

  std::optional<BusError> first, second, neighbour;
  std::thread vcpu([&] {
    first = TouchCatchingBusError(Host(kRamId) + kPage);
    // Still poisoned: a guest retrying the access gets the same error.
    second = TouchCatchingBusError(Host(kRamId) + kPage);
    neighbour = TouchCatchingBusError(Host(kRamId) + 2 * kPage);
  });
  vcpu.join();
  // A user-space touch reports BUS_MCEERR_AR where the kernel has
  // CONFIG_MEMORY_FAILURE (the test host's does; KVM always does), and a
  // plain BUS_ADRERR where it has not.
  const auto poisoned_code = ::testing::AnyOf(BUS_MCEERR_AR, BUS_ADRERR);
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT(first->code, poisoned_code);
  EXPECT_EQ(first->address, reinterpret_cast<uint64_t>(Host(kRamId) + kPage));
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT(second->code, poisoned_code);
  EXPECT_FALSE(neighbour.has_value()) << "other pages are served";
  EXPECT_EQ(PatternMismatches(3, 2, 1), 0u);

  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value())
      << "a poisoned page does not stop the VM";
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.errors, 1u);
  EXPECT_EQ(stats.poisoned, 1u);
  ASSERT_EQ(stats.poisoned_pages.size(), 1u);
  EXPECT_EQ(stats.poisoned_pages[0].guest_physical, kRamBase + kPage);
  EXPECT_EQ(stats.poisoned_pages[0].kind, v1::ERROR_KIND_BUS_ERROR);
  EXPECT_EQ(stats.poisoned_pages[0].message, "disk on fire");
}

TEST_F(FaultEngineTest, DeadlineStopsASlowFault) {
  RetryOptions retry;
  retry.deadline = absl::Seconds(1);
  ASSERT_TRUE(StartEngine({RamRegion(8, Pattern(3))}, retry).ok());
  v1::InjectionRule rule;
  rule.set_region_id(kRamId);
  rule.set_delay_us(20'000'000);
  Inject(rule);
  TouchInBackground(kRamId, 0, 1, 1);
  std::optional<StopReason> fatal = WaitForFatal(absl::Seconds(20));
  ASSERT_TRUE(fatal.has_value());
  EXPECT_EQ(fatal->kind, StopKind::kFaultDeadline);
  EXPECT_THAT(fatal->message, HasSubstr("fault deadline of 1s exceeded"));
  EXPECT_THAT(fatal->message, HasSubstr("guest-physical page 0x200000"));
}

TEST_F(FaultEngineTest, BrokerRestartLosesNothing) {
  constexpr uint64_t kPages = 128;
  ASSERT_TRUE(StartEngine({RamRegion(kPages, Pattern(99))}).ok());
  v1::InjectionRule slow;
  slow.set_region_id(kRamId);
  slow.set_delay_us(2'000'000);  // keep faults in flight across the kill
  Inject(slow);
  TouchInBackground(kRamId, 0, kPages, 4);
  for (int i = 0; i < 500 && engine_->faults_in_flight() < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_GE(engine_->faults_in_flight(), 4u);
  broker_->Kill();
  ASSERT_TRUE(broker_->Start().ok());  // a fresh broker: no injection
  JoinTouchers();
  EXPECT_EQ(PatternMismatches(99, 0, kPages), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  // One restart is one reconnection, though it takes two streams: the first
  // is refused (NOT_FOUND: the new broker never had the session) and the
  // second, after the attach, carries the answers.
  EXPECT_EQ(stats.reconnects, 1u);
  EXPECT_GE(stats.resent, 4u);
  EXPECT_EQ(PagesInstalledByAnswers(stats), kPages);
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
  EXPECT_FALSE(WaitForFatal(absl::ZeroDuration()).has_value());
}

std::atomic<int> interruptions{0};
void CountInterruption(int) { ++interruptions; }

// A thread blocked on a page is interrupted by a signal (as a vCPU is kicked
// out of KVM_RUN): it runs the handler, touches the page again, and the one
// fault in flight still resolves it.
TEST_F(FaultEngineTest, InterruptedWaiterRetriesTheAccess) {
  ASSERT_TRUE(StartEngine({RamRegion(8, Pattern(5))}).ok());
  v1::InjectionRule slow;
  slow.set_region_id(kRamId);
  slow.set_count(1);
  slow.set_delay_us(500'000);
  Inject(slow);
  struct sigaction action = {};
  action.sa_handler = CountInterruption;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(::sigaction(SIGUSR2, &action, nullptr), 0);  // no SA_RESTART
  TouchInBackground(kRamId, 4, 1, 1);
  for (int i = 0; i < 500 && engine_->faults_in_flight() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(engine_->faults_in_flight(), 1u);
  ::pthread_kill(threads_[0].native_handle(), SIGUSR2);
  JoinTouchers();
  EXPECT_EQ(interruptions.load(), 1);
  EXPECT_EQ(PatternMismatches(5, 4, 1), 0u);
  const FaultCountersSnapshot stats = engine_->stats().Snapshot();
  EXPECT_EQ(stats.pages, 1u);
  EXPECT_EQ(engine_->faults_in_flight(), 0u);
}

TEST(FaultEngineNoBrokerTest, UnreachableBrokerFailsAttachInTime) {
  MemoryLayout layout;
  ASSERT_TRUE(
      layout.Add({kRamId, "ram", RegionKind::kRam, kRamBase, kPage}).ok());
  auto memory = GuestMemory::Create(layout);
  ASSERT_TRUE(memory.ok());
  FaultEngine::Options options;
  options.transport.session.target = "unix:/tmp/fl-vmm-nonexistent/broker.sock";
  options.transport.session.vm_name = "lonely";
  options.sources[kRamId] = Pattern(1);
  options.transport.attach_deadline = absl::Milliseconds(500);
  auto engine = FaultEngine::Create(memory->get(), options, nullptr);
  ASSERT_FALSE(engine.ok());
  EXPECT_TRUE(absl::IsUnavailable(engine.status())) << engine.status();
  EXPECT_EQ(StopKindOf(engine.status()), StopKind::kBrokerUnreachable);
  EXPECT_THAT(std::string(engine.status().message()), HasSubstr("unreachable"));
}

}  // namespace
}  // namespace faultline::vmm
