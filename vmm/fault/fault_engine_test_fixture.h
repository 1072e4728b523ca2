// Test fixture of the fault engine's end-to-end tests: the real broker
// binary on a Unix socket (or, for the hostile broker's tests, a fake one),
// guest memory, an engine, and host threads that touch pages in place of
// vCPUs. For tests only.
#ifndef FAULTLINE_VMM_FAULT_FAULT_ENGINE_TEST_FIXTURE_H_
#define FAULTLINE_VMM_FAULT_FAULT_ENGINE_TEST_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/broker.grpc.pb.h"
#include "proto/faultline/v1/wire.h"
#include "proto/guest_abi.h"
#include "proto/pattern.h"
#include "vmm/fault/fault_engine.h"
#include "vmm/fault/fault_stats.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/stop/stop_reason.h"
#include "vmm/testing/broker_process.h"

namespace faultline::vmm {

inline constexpr uint64_t kPage = v1::wire::kPageBytes;
inline constexpr uint64_t kRamBase = 0x200000;
inline constexpr uint32_t kRamId = 1;
inline constexpr uint32_t kDeviceId = 2;

inline v1::Region RamRegion(uint64_t pages, const v1::Source& source) {
  v1::Region region;
  region.set_region_id(kRamId);
  region.set_name("ram");
  region.set_kind(v1::REGION_KIND_RAM);
  region.set_guest_physical_base(kRamBase);
  region.set_size_bytes(pages * kPage);
  region.set_page_size(kPage);
  *region.mutable_source() = source;
  return region;
}

// The PCI memory device's window of 16 pages over a shared identity pool.
inline v1::Region DeviceWindow(const std::string& pool, uint32_t frames) {
  v1::Region window;
  window.set_region_id(kDeviceId);
  window.set_name("pcimem");
  window.set_kind(v1::REGION_KIND_DEVICE_MEMORY);
  window.set_guest_physical_base(guest_abi::kPciMemWindowBarAddress);
  window.set_size_bytes(16 * kPage);
  window.set_page_size(kPage);
  v1::DeviceSource* device = window.mutable_source()->mutable_device();
  device->set_pool(pool);
  device->set_frame_count(frames);
  device->set_policy(v1::FRAME_POLICY_IDENTITY);
  device->set_sharing(v1::SHARING_SHARED);
  return window;
}

inline v1::Source Pattern(uint64_t seed) {
  v1::Source source;
  source.mutable_pattern()->set_seed(seed);
  return source;
}

// Pages that answers put in place. With several touchers and prefetch, a
// faulting page may already be there from another answer's extra pages: that
// answer is counted in `pages` and again in `already_resolved`.
inline uint64_t PagesInstalledByAnswers(const FaultCountersSnapshot& stats) {
  return stats.pages + stats.extra_pages - stats.already_resolved;
}

class FaultEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!starts_real_broker_) return;
    broker_ = std::make_unique<BrokerProcess>(MakeShortTempDir());
    ASSERT_TRUE(broker_->Start().ok());
    admin_ = v1::BrokerAdmin::NewStub(grpc::CreateChannel(
        broker_->target(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    engine_.reset();  // releases any thread still blocked on a page
    for (std::thread& thread : threads_) thread.join();
  }

  absl::Status StartEngine(
      std::vector<v1::Region> regions, RetryOptions retry = RetryOptions(),
      uint32_t prefetch = 0,
      BrokerTransport::Staging staging = BrokerTransport::Staging::kAuto) {
    return StartEngineOn(broker_->target(), std::move(regions), retry, prefetch,
                         staging);
  }

  // Guest memory laid out as `regions` say, and an engine attached to
  // `target` with those regions' sources.
  absl::Status StartEngineOn(
      const std::string& target, std::vector<v1::Region> regions,
      RetryOptions retry = RetryOptions(), uint32_t prefetch = 0,
      BrokerTransport::Staging staging = BrokerTransport::Staging::kAuto) {
    MemoryLayout layout;
    FaultEngine::Options options;
    for (const v1::Region& region : regions) {
      absl::Status added = layout.Add(
          {region.region_id(), region.name(),
           region.kind() == v1::REGION_KIND_RAM ? RegionKind::kRam
                                                : RegionKind::kDeviceWindow,
           region.guest_physical_base(), region.size_bytes()});
      if (!added.ok()) return added;
      options.sources[region.region_id()] = region.source();
    }
    auto memory = GuestMemory::Create(layout);
    if (!memory.ok()) return memory.status();
    memory_ = *std::move(memory);
    options.transport.session.target = target;
    options.transport.session.vm_name =
        ::testing::UnitTest::GetInstance()->current_test_info()->name();
    options.transport.attach_deadline = absl::Seconds(10);
    options.transport.staging = staging;
    options.retry = retry;
    options.prefetch_hint = prefetch;
    options.poison_error_pages = poison_error_pages_;
    options.prefetch_adaptive = prefetch_adaptive_;
    options.transport.fault_ring = fault_ring_;
    options.fill = fill_options_;
    options.record = record_;
    options.on_device_page = [this](const DevicePageEvent& event) {
      absl::MutexLock lock(&fatal_mutex_);
      device_pages_.push_back(event);
    };
    auto engine = FaultEngine::Create(memory_.get(), options,
                                      [this](const StopReason& stop) {
                                        absl::MutexLock lock(&fatal_mutex_);
                                        fatal_ = stop;
                                        fatal_seen_.Notify();
                                      });
    if (!engine.ok()) return engine.status();
    engine_ = *std::move(engine);
    return absl::OkStatus();
  }

  uint8_t* Host(uint32_t region_id) {
    return memory_->FindRegion(region_id)->host_base();
  }

  // Reads the first byte of pages [first, first + count) from `threads`
  // threads, each taking every threads-th page.
  void TouchInBackground(uint32_t region_id, uint64_t first, uint64_t count,
                         int threads) {
    uint8_t* base = Host(region_id);
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([=] {
        for (uint64_t page = first + t; page < first + count; page += threads) {
          (void)*static_cast<volatile uint8_t*>(base + page * kPage);
        }
      });
    }
  }
  // Joins the touching threads, then waits (bounded) for the engine's
  // bookkeeping: a copy wakes the waiting thread before the engine counts
  // the page and retires the fault.
  void JoinTouchers() {
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    for (int i = 0;
         i < 500 && engine_ != nullptr && engine_->faults_in_flight() > 0;
         ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  std::string SessionId() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::ListSessionsResponse sessions;
    EXPECT_TRUE(
        admin_->ListSessions(&context, v1::ListSessionsRequest(), &sessions)
            .ok());
    for (const v1::SessionInfo& session : sessions.sessions()) {
      return session.session_id();
    }
    return "";
  }

  void Inject(v1::InjectionRule rule) {
    rule.set_session_id(SessionId());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::SetInjectionResponse response;
    grpc::Status status = admin_->SetInjection(&context, rule, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::optional<StopReason> WaitForFatal(absl::Duration timeout) {
    if (!fatal_seen_.WaitForNotificationWithTimeout(timeout)) {
      return std::nullopt;
    }
    absl::MutexLock lock(&fatal_mutex_);
    return fatal_;
  }

  uint64_t PatternMismatches(uint64_t seed, uint64_t first, uint64_t count) {
    uint64_t mismatches = 0;
    for (uint64_t page = first; page < first + count; ++page) {
      const auto* words =
          reinterpret_cast<const uint64_t*>(Host(kRamId) + page * kPage);
      mismatches += pattern::CountMismatches(
          seed, (kRamBase + page * kPage) / kPage, words);
    }
    return mismatches;
  }

  // With the engine started on RAM of `pages` pages: touches the first
  // `before`, then keeps faults in flight (a 2 s delay rule) while `threads`
  // touch the rest, kills the broker once `in_flight` faults wait and starts
  // a fresh one (a new session, area and ring). Returns once every page is
  // touched; the caller checks what came through.
  void KillBrokerMidRun(uint64_t pages, uint64_t before, int threads,
                        size_t in_flight) {
    TouchInBackground(kRamId, 0, before, 1);
    JoinTouchers();
    v1::InjectionRule slow;
    slow.set_region_id(kRamId);
    slow.set_delay_us(2'000'000);
    Inject(slow);
    TouchInBackground(kRamId, before, pages - before, threads);
    for (int i = 0; i < 500 && engine_->faults_in_flight() < in_flight; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    ASSERT_GE(engine_->faults_in_flight(), in_flight);
    broker_->Kill();
    ASSERT_TRUE(broker_->Start().ok());
    JoinTouchers();
  }

  std::vector<DevicePageEvent> DevicePages() {
    absl::MutexLock lock(&fatal_mutex_);
    return device_pages_;
  }

  bool starts_real_broker_ = true;   // read by SetUp
  bool poison_error_pages_ = false;  // read by StartEngine, as are these
  bool fault_ring_ = false;
  bool prefetch_adaptive_ = false;
  BackgroundFillOptions fill_options_;
  std::shared_ptr<WorkingSetRecorder> record_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<v1::BrokerAdmin::Stub> admin_;
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<FaultEngine> engine_;
  std::vector<std::thread> threads_;
  absl::Mutex fatal_mutex_;
  std::optional<StopReason> fatal_ ABSL_GUARDED_BY(fatal_mutex_);
  std::vector<DevicePageEvent> device_pages_ ABSL_GUARDED_BY(fatal_mutex_);
  absl::Notification fatal_seen_;
};

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_FAULT_FAULT_ENGINE_TEST_FIXTURE_H_
