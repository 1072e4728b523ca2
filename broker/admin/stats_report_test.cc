#include "broker/admin/stats_report.h"

#include <cstdlib>
#include <string>

#include "broker/sources/memory_store_backend.h"
#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

class StatsReportTest : public ::testing::Test {
 protected:
  StatsReportTest()
      : pools_(std::getenv("TEST_TMPDIR") != nullptr
                   ? std::getenv("TEST_TMPDIR")
                   : "/tmp"),
        registry_(pools_, stores_, v1::Limits()) {}

  std::shared_ptr<Session> Attach(const std::string& vm_name) {
    v1::AttachRequest request;
    request.set_protocol_version(v1::wire::kProtocolVersion);
    request.set_vm_name(vm_name);
    v1::Region* region = request.add_regions();
    region->set_region_id(1);
    region->set_name("ram");
    region->set_kind(v1::REGION_KIND_RAM);
    region->set_size_bytes(4 * v1::wire::kPageBytes);
    region->set_page_size(v1::wire::kPageBytes);
    region->mutable_source()->mutable_zero();
    v1::AttachResponse response;
    auto session = registry_.Attach(request, PeerIdentity(), &response);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *session : nullptr;
  }

  FramePoolRegistry pools_;
  MemoryStoreBackend stores_;
  SessionRegistry registry_;
  WatchHub watchers_;
};

TEST_F(StatsReportTest, ReportsSessionsRegionsAndTotals) {
  std::shared_ptr<Session> session = Attach("vm0");
  ASSERT_NE(session, nullptr);
  FaultOutcome zero;
  zero.answer = v1::FaultAnswer::kZero;
  session->FindRegion(1)->stats.Record(zero);
  session->stats().Record(zero);
  registry_.total().Record(zero);

  v1::GetStatsResponse all;
  ASSERT_TRUE(FillStats(registry_, "", &all).ok());
  ASSERT_EQ(all.sessions_size(), 1);
  EXPECT_EQ(all.sessions(0).vm_name(), "vm0");
  EXPECT_EQ(all.sessions(0).counters().zeros(), 1u);
  ASSERT_EQ(all.sessions(0).regions_size(), 1);
  EXPECT_EQ(all.sessions(0).regions(0).name(), "ram");
  EXPECT_EQ(all.sessions(0).regions(0).counters().zeros(), 1u);
  EXPECT_EQ(all.sessions(0).staging().slot_count(), 0u);
  EXPECT_EQ(all.total().faults(), 1u);

  v1::GetStatsResponse one;
  ASSERT_TRUE(FillStats(registry_, session->id(), &one).ok());
  EXPECT_EQ(one.sessions_size(), 1);
  v1::GetStatsResponse none;
  EXPECT_EQ(FillStats(registry_, "nope", &none).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StatsReportTest, MetricsTextCarriesSessionsAndStagingTotals) {
  ASSERT_NE(Attach("vm1"), nullptr);
  registry_.staging_totals().AddRefusedRelease();
  const std::string text = RenderMetrics(registry_, pools_, watchers_);
  EXPECT_NE(text.find("faultline_sessions 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vm=\"vm1\",region=\"ram\""), std::string::npos);
  EXPECT_NE(text.find("faultline_staging_refused_releases_total 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("faultline_watch_events_dropped_total 0\n"),
            std::string::npos);
}

}  // namespace
}  // namespace faultline::broker
