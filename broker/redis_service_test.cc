// Service tests of the page store on a real Redis Cluster (3 masters, 3
// replicas on 127.0.0.1, started by the test, node timeout 5000 ms): brokers
// that share it serve each other's puts byte for byte, a restarted broker
// keeps every page, and a master killed mid-run makes its pages answer
// retry STORE_UNAVAILABLE (never missing, zero or wrong) until its replica
// takes over, then the right bytes.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "broker/redis/key_slot.h"
#include "broker/redis/testing/pattern_pages.h"
#include "broker/redis/testing/redis_servers.h"
#include "broker/redis/window_layout.h"
#include "broker/server_test_fixture.h"

namespace faultline::broker {
namespace {

using redis::testing::PatternPages;
using redis::testing::RedisCluster;
using v1::wire::kPageBytes;

constexpr uint64_t kSeed = 3;
constexpr uint32_t kPrefetch = 15;

v1::Region StoreRegion(uint64_t pages, const std::string& store) {
  v1::Region region = PatternRegion(1, 0, pages, 0);
  region.mutable_source()->mutable_store()->set_store(store);
  return region;
}

// Store page p holds pattern page p: seed kSeed, frame p.
std::vector<v1::PutPagesRequest> PatternPuts(const std::string& store,
                                             uint64_t pages) {
  std::vector<v1::PutPagesRequest> puts;
  for (uint64_t page = 0; page < pages; page += 256) {
    v1::PutPagesRequest& put = puts.emplace_back();
    if (page == 0) put.set_store(store);
    put.set_offset(page * kPageBytes);
    put.set_data(
        PatternPages(kSeed, page, std::min<uint64_t>(256, pages - page)));
  }
  return puts;
}

// A second broker on the same cluster, in this process.
struct OtherBroker {
  std::string dir;
  std::unique_ptr<BrokerServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::BrokerAdmin::Stub> admin;
};

// What reading every page through a Faults stream saw.
struct Pass {
  uint64_t right = 0;
  uint64_t unavailable = 0;
  std::vector<std::string> wrong;  // anything but the right page or a retry
  std::string reason;              // one unavailable detail
};

// Every page of a `pages`-page store region, a fault with prefetch at a
// time, as a VMM would: a retry STORE_UNAVAILABLE is asked again 20 ms
// later, until `deadline`.
Pass ReadAll(FaultStreamClient& stream, uint64_t pages, absl::Time deadline,
             uint64_t* fault_id) {
  Pass pass;
  for (uint64_t page = 0; page < pages && absl::Now() < deadline;) {
    if (!stream.SendFault(++*fault_id, 1, page * kPageBytes, kPrefetch)) {
      pass.wrong.push_back("the stream broke");
      return pass;
    }
    std::optional<v1::FaultAnswer> answer = stream.WaitAnswer(*fault_id, kWait);
    if (!answer.has_value()) {
      pass.wrong.push_back(absl::StrCat("page ", page, ": no answer"));
      return pass;
    }
    if (answer->has_retry() &&
        answer->retry().reason() == v1::RETRY_REASON_STORE_UNAVAILABLE) {
      ++pass.unavailable;
      pass.reason = answer->retry().detail();
      absl::SleepFor(absl::Milliseconds(20));
      continue;
    }
    if (!answer->has_page() ||
        answer->page().data() != PatternPages(kSeed, page, 1)) {
      pass.wrong.push_back(absl::StrCat(
          "page ", page, ": ", answer->ShortDebugString().substr(0, 200)));
      ++page;
      continue;
    }
    ++pass.right;
    ++page;
    for (const v1::ExtraPage& extra : answer->extra_pages()) {
      const uint64_t at = extra.offset() / kPageBytes;
      if (at != page || extra.data() != PatternPages(kSeed, at, 1)) {
        pass.wrong.push_back(absl::StrCat("extra page ", at));
      } else {
        ++pass.right;
      }
      page = at + 1;
    }
  }
  return pass;
}

class RedisServiceTest : public BrokerServerTest {
 protected:
  static void SetUpTestSuite() {
    auto cluster = RedisCluster::Start(3, 1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    store_url_ = "redis://" + cluster_->SeedList();
    BrokerServerTest::SetUp();
  }
  void TearDown() override {
    other_.server.reset();
    if (!other_.dir.empty()) std::filesystem::remove_all(other_.dir);
    BrokerServerTest::TearDown();
  }

  void StartOther() {
    other_.dir = FreshDir();
    BrokerOptions options;
    options.socket_path = other_.dir + "/broker.sock";
    options.device_memory_dir = other_.dir + "/pools";
    options.store_url = store_url_;
    auto server = BrokerServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    other_.server = *std::move(server);
    other_.channel = ConnectUnix(options.socket_path);
    other_.admin = v1::BrokerAdmin::NewStub(other_.channel);
  }

  static RedisCluster* cluster_;
  OtherBroker other_;
  uint64_t fault_id_ = 0;
};

RedisCluster* RedisServiceTest::cluster_ = nullptr;

TEST_F(RedisServiceTest, PutThroughOneBrokerFaultThroughAnother) {
  StartOther();
  constexpr uint64_t kPages = 200;  // 7 windows, spread over the masters
  v1::PutPagesResponse put;
  grpc::Status status =
      PutPages(PatternPuts("shared", kPages), &put, other_.admin.get());
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(put.pages_written(), kPages);

  auto attached = MustAttach("vm", {StoreRegion(kPages, "shared")});
  auto stream = OpenStream(attached);
  Pass pass = ReadAll(*stream, kPages, absl::Now() + kWait, &fault_id_);
  EXPECT_EQ(pass.right, kPages);
  EXPECT_TRUE(pass.wrong.empty()) << pass.wrong[0];
  EXPECT_EQ(pass.unavailable, 0u) << pass.reason;

  // Both brokers list it, from the cluster.
  v1::ListStoresResponse listed;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(
      admin_->ListStores(&context, v1::ListStoresRequest(), &listed).ok());
  EXPECT_NE(listed.backend().find("redis cluster"), std::string::npos)
      << listed.backend();
  bool found = false;
  for (const v1::StoreInfo& store : listed.stores()) {
    if (store.store() == "shared") found = store.pages() == kPages;
  }
  EXPECT_TRUE(found) << listed.ShortDebugString();
}

TEST_F(RedisServiceTest, ARestartedBrokerKeepsTheStore) {
  constexpr uint64_t kPages = 100;
  v1::PutPagesResponse put;
  ASSERT_TRUE(PutPages(PatternPuts("kept", kPages), &put).ok());
  server_.reset();
  std::filesystem::remove_all(dir_);
  dir_ = FreshDir();
  StartBroker(dir_);
  auto attached = MustAttach("vm", {StoreRegion(kPages, "kept")});
  auto stream = OpenStream(attached);
  Pass pass = ReadAll(*stream, kPages, absl::Now() + kWait, &fault_id_);
  EXPECT_EQ(pass.right, kPages);
  EXPECT_TRUE(pass.wrong.empty()) << pass.wrong[0];
}

TEST_F(RedisServiceTest, DeleteThroughOneBrokerIsSeenByTheOther) {
  StartOther();
  v1::PutPagesResponse put;
  ASSERT_TRUE(PutPages(PatternPuts("gone", 40), &put).ok());
  auto attached = MustAttach("vm", {StoreRegion(40, "gone")});
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, 0, &answer).ok());  // cached now
  ASSERT_TRUE(answer.has_page());
  v1::DeleteStoreRequest request;
  request.set_store("gone");
  v1::DeleteStoreResponse deleted;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(other_.admin->DeleteStore(&context, request, &deleted).ok());
  EXPECT_EQ(deleted.pages_deleted(), 40u);
  ASSERT_TRUE(Resolve(attached, 1, 0, &answer).ok());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE)
      << "never the cached copy";
}

TEST(RedisStartTest, ABrokerThatCannotConnectFailsToStartNamingTheStore) {
  const std::string dir = FreshDir();
  BrokerOptions options;
  options.socket_path = dir + "/broker.sock";
  options.device_memory_dir = dir + "/pools";
  options.store_url = "redis://127.0.0.1:1";
  options.store_connect_timeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  auto server = BrokerServer::Start(options);
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("--store=redis://127.0.0.1:1"),
            std::string::npos)
      << server.status();
  options.store_url = "redis:/nope";
  server = BrokerServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);

  // The binary says so and exits 1.
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const std::string command = absl::StrCat(
      "timeout 60 ", srcdir != nullptr ? srcdir : ".",
      "/faultline/broker/broker --socket=", dir,
      "/b.sock --device_memory_dir=", dir,
      " --store=redis://127.0.0.1:1 --store_connect_timeout=1s 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[2048] = {};
  const size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, pipe);
  const int status = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(std::string(buffer, n).find("broker: --store=redis://127.0.0.1:1"),
            std::string::npos)
      << std::string(buffer, n);
  std::filesystem::remove_all(dir);
}

// A cluster of its own: the test kills one of its masters.
class RedisFailoverServiceTest : public BrokerServerTest {
 protected:
  void SetUp() override {
    auto cluster = RedisCluster::Start(3, 1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    store_url_ = "redis://" + cluster_->SeedList();
    BrokerServerTest::SetUp();
  }
  std::unique_ptr<RedisCluster> cluster_;
  uint64_t fault_id_ = 0;
};

TEST_F(RedisFailoverServiceTest, AKilledMasterMeansRetriesThenRightPages) {
  constexpr uint64_t kPages = 60 * redis::kWindowPages;  // every master
  v1::PutPagesResponse put;
  ASSERT_TRUE(PutPages(PatternPuts("disk", kPages), &put).ok());
  auto attached = MustAttach("vm", {StoreRegion(kPages, "disk")});
  auto stream = OpenStream(attached);
  Pass before = ReadAll(*stream, kPages, absl::Now() + kWait, &fault_id_);
  ASSERT_EQ(before.right, kPages);

  auto victim = cluster_->MasterOf(redis::KeySlot(redis::WindowKey("disk", 0)));
  ASSERT_TRUE(victim.ok()) << victim.status();
  (*victim)->Kill();
  // Passes over every page until one comes back whole after the failover
  // (node timeout 5 s + about 3 s), each page asked again until it is
  // right, as the VMM does.
  Pass during;
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  for (int round = 0; round < 1000 && absl::Now() < deadline; ++round) {
    Pass pass = ReadAll(*stream, kPages, deadline, &fault_id_);
    during.unavailable += pass.unavailable;
    if (!pass.reason.empty()) during.reason = pass.reason;
    during.wrong.insert(during.wrong.end(), pass.wrong.begin(),
                        pass.wrong.end());
    if (pass.right == kPages && pass.unavailable == 0 && during.unavailable > 0)
      break;
    during.right = pass.right;
  }
  EXPECT_TRUE(during.wrong.empty()) << during.wrong[0];
  EXPECT_GT(during.unavailable, 0u) << "the kill was never seen";
  EXPECT_NE(during.reason.find("cannot be read now: redis"), std::string::npos)
      << during.reason;
  Pass after = ReadAll(*stream, kPages, absl::Now() + kWait, &fault_id_);
  EXPECT_EQ(after.right, kPages);
  EXPECT_EQ(after.unavailable, 0u) << after.reason;

  // The broker counted the new reason.
  v1::GetStatsResponse stats;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(admin_->GetStats(&context, v1::GetStatsRequest(), &stats).ok());
  uint64_t counted = 0;
  for (const auto& retry : stats.total().retries_by_reason()) {
    if (retry.reason() == v1::RETRY_REASON_STORE_UNAVAILABLE) {
      counted = retry.count();
    }
  }
  EXPECT_EQ(counted, during.unavailable);
  std::cout << "failover: " << during.unavailable
            << " retries STORE_UNAVAILABLE, e.g. " << during.reason << "\n";
}

}  // namespace
}  // namespace faultline::broker
