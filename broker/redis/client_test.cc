// The cluster client against real servers the test starts: a 3+3 cluster on
// free loopback ports for the slot function, routing, pipelining, MOVED after
// a resharding, ASK and TRYAGAIN during a live slot migration; a standalone
// server; and a peer that never answers, for the deadlines.
#include "broker/redis/client.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "broker/redis/key_slot.h"
#include "broker/redis/testing/redis_servers.h"
#include "gtest/gtest.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker::redis {
namespace {

using testing::RedisCluster;
using testing::RedisServer;
using testing::StandaloneRedis;

CallOptions Within(absl::Duration timeout) {
  return CallOptions{absl::Now() + timeout};
}

class ClusterClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<RedisCluster>> started =
        RedisCluster::Start(3, 1);
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = started->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    ClientOptions options;
    options.seeds = cluster_->Seeds();
    absl::StatusOr<std::unique_ptr<Client>> client =
        Client::Connect(options, absl::Now() + absl::Seconds(10));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::string Get(const std::string& key) {
    Result result =
        client_->Execute(Command{{"GET", key}}, Within(absl::Seconds(10)));
    EXPECT_TRUE(result.reply.ok()) << result.reply.status();
    return result.reply.ok() ? result.reply->str : "";
  }

  static RedisCluster* cluster_;
  std::unique_ptr<Client> client_;
};

RedisCluster* ClusterClientTest::cluster_ = nullptr;

TEST_F(ClusterClientTest, SlotFunctionMatchesClusterKeyslot) {
  std::mt19937 random(14);
  std::vector<std::string> keys = {
      "", "{", "}", "{}", "{}{x}", "a{b}c", "a{{b}}", "fl:w:{disk0:42}"};
  std::uniform_int_distribution<int> length(0, 24);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::string braces = "{}ab";
  for (int i = 0; i < 2000; ++i) {
    std::string key;
    const int n = length(random);
    for (int j = 0; j < n; ++j) {
      key.push_back(i % 2 ? braces[byte(random) % 4]
                          : static_cast<char>(byte(random)));
    }
    keys.push_back(key);
  }
  RedisServer& server = *cluster_->servers()[0];
  for (const std::string& key : keys) {
    absl::StatusOr<Reply> slot = server.Command({"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(slot.ok()) << slot.status();
    ASSERT_EQ(slot->integer, KeySlot(key))
        << "key of " << key.size() << " bytes";
  }
}

TEST_F(ClusterClientTest, BatchSpreadsOverEveryMasterInOneCall) {
  EXPECT_TRUE(client_->cluster());
  EXPECT_EQ(client_->Masters().size(), 3u);
  std::vector<Command> sets;
  for (int i = 0; i < 300; ++i) {
    sets.push_back(
        Command{{"SET", absl::StrCat("batch:", i), absl::StrCat(i)}});
  }
  std::vector<Result> set =
      client_->ExecuteBatch(sets, Within(absl::Seconds(10)));
  std::set<NodeAddress> nodes;
  for (const Result& result : set) {
    ASSERT_TRUE(result.reply.ok()) << result.reply.status();
    EXPECT_EQ(result.reply->str, "OK");
    nodes.insert(result.node);
  }
  EXPECT_EQ(nodes.size(), 3u);
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back(absl::StrCat("batch:", i));
  keys.push_back("batch:none");
  std::vector<Result> got = client_->MGet(keys, Within(absl::Seconds(10)));
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(got[i].reply.ok()) << got[i].reply.status();
    EXPECT_EQ(got[i].reply->str, absl::StrCat(i));
  }
  EXPECT_EQ(got[300].reply->type, Reply::Type::kNil);
}

TEST_F(ClusterClientTest, EachThreadHasItsOwnConnections) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string key = absl::StrCat("thread:", t, ":", i);
        Result set = client_->Execute(Command{{"SET", key, key}},
                                      Within(absl::Seconds(10)));
        Result get =
            client_->Execute(Command{{"GET", key}}, Within(absl::Seconds(10)));
        if (set.reply.ok() && get.reply.ok() && get.reply->str == key) ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(ClusterClientTest, AskDuringMigrationThenMovedAfterIt) {
  const std::string tag = "{migrating}";
  const int slot = KeySlot(tag);
  absl::StatusOr<RedisServer*> source = cluster_->MasterOf(slot);
  ASSERT_TRUE(source.ok()) << source.status();
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_EQ(client_
                  ->Execute(Command{{"SET", tag + name, name}},
                            Within(absl::Seconds(10)))
                  .reply->str,
              "OK");
  }
  absl::StatusOr<RedisServer*> target = cluster_->BeginSlotMigration(slot);
  ASSERT_TRUE(target.ok()) << target.status();
  // Half the slot moves: "a" lives on the target now, "b" and "c" do not.
  ASSERT_TRUE(cluster_->MigrateKeys(slot, {tag + "a"}).ok());

  EXPECT_EQ(Get(tag + "a"), "a");  // ASK, then ASKING + GET on the target
  EXPECT_EQ(Get(tag + "b"), "b");  // still on the source
  // A multi-key read over the split slot is TRYAGAIN; MGet falls back.
  std::vector<Result> both = client_->MGet({tag + "a", tag + "b", tag + "c"},
                                           Within(absl::Seconds(10)));
  ASSERT_TRUE(both[0].reply.ok() && both[1].reply.ok() && both[2].reply.ok());
  EXPECT_EQ(both[0].reply->str, "a");
  EXPECT_EQ(both[1].reply->str, "b");
  EXPECT_EQ(both[2].reply->str, "c");
  // A key that is on neither yet goes to the importing node.
  EXPECT_EQ(client_
                ->Execute(Command{{"SET", tag + "new", "n"}},
                          Within(absl::Seconds(10)))
                .reply->str,
            "OK");
  EXPECT_EQ(*client_->slot_map()->MasterOf(slot), (*source)->address())
      << "ASK must not change the map";

  // Finish the migration; the client's map is stale until MOVED.
  ASSERT_TRUE(cluster_->FinishSlotMigration(slot).ok());
  const uint64_t changes = client_->map_changes();
  EXPECT_EQ(Get(tag + "b"), "b");
  EXPECT_EQ(Get(tag + "new"), "n");
  EXPECT_EQ(*client_->slot_map()->MasterOf(slot), (*target)->address());
  EXPECT_GT(client_->map_changes(), changes);
}

TEST(StandaloneClientTest, EverySlotOnTheOneServer) {
  absl::StatusOr<std::unique_ptr<StandaloneRedis>> redis =
      StandaloneRedis::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  ClientOptions options;
  options.seeds = {(*redis)->server->address()};
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(options, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_FALSE((*client)->cluster());
  EXPECT_EQ((*client)->Describe(),
            absl::StrCat("redis ", (*redis)->server->address().ToString()));
  std::vector<Command> sets;
  for (int i = 0; i < 100; ++i) {
    sets.push_back(Command{{"SET", absl::StrCat("k", i), "v"}});
  }
  for (const Result& result :
       (*client)->ExecuteBatch(sets, Within(absl::Seconds(10)))) {
    EXPECT_EQ(result.reply->str, "OK");
  }
  std::vector<Result> got =
      (*client)->MGet({"k1", "k99", "k100"}, Within(absl::Seconds(10)));
  EXPECT_EQ(got[0].reply->str, "v");
  EXPECT_EQ(got[1].reply->str, "v");
  EXPECT_EQ(got[2].reply->type, Reply::Type::kNil);

  // The server goes away: calls say so, naming it, at once.
  (*redis)->server->Kill();
  Result gone =
      (*client)->Execute(Command{{"GET", "k1"}}, Within(absl::Seconds(10)));
  ASSERT_FALSE(gone.reply.ok());
  EXPECT_EQ(gone.reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(gone.reply.status().message().find(
                (*redis)->server->address().ToString()),
            std::string::npos)
      << gone.reply.status();
  // Back from its append-only file: the client reconnects by itself.
  ASSERT_TRUE((*redis)->server->Restart().ok());
  absl::SleepFor(absl::Milliseconds(150));  // past the down memo
  Result back =
      (*client)->Execute(Command{{"GET", "k1"}}, Within(absl::Seconds(10)));
  ASSERT_TRUE(back.reply.ok()) << back.reply.status();
  EXPECT_EQ(back.reply->str, "v");
}

// A peer that accepts connections and never says a word.
class SilentPeer {
 public:
  SilentPeer() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)),
        0);
    EXPECT_EQ(listen(fd_.get(), 16), 0);
    socklen_t length = sizeof(address);
    getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  NodeAddress address() const { return NodeAddress{"127.0.0.1", port_}; }

 private:
  UniqueFd fd_;
  int port_ = 0;
};

TEST(DeadlineTest, ASilentServerCostsTheDeadlineAndNoMore) {
  SilentPeer peer;
  ClientOptions options;
  options.seeds = {peer.address()};
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(options, start + absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("did not come in time"),
            std::string::npos)
      << client.status();
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(30)) << "a hang, not a deadline";

  // The same for a single call on a connected socket.
  absl::StatusOr<std::unique_ptr<Connection>> connection =
      Connection::Open(peer.address(), absl::Now() + absl::Seconds(5));
  ASSERT_TRUE(connection.ok()) << connection.status();
  absl::StatusOr<Reply> reply =
      Call(**connection, {"PING"}, absl::Now() + absl::Milliseconds(200));
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE((*connection)->broken());
}

TEST(DeadlineTest, NoServerAtAllIsUnavailableNamingTheNode) {
  ClientOptions options;
  options.seeds = {NodeAddress{"127.0.0.1", 1}};
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::Connect(options, absl::Now() + absl::Seconds(5));
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("127.0.0.1:1"), std::string::npos)
      << client.status();
}

}  // namespace
}  // namespace faultline::broker::redis
