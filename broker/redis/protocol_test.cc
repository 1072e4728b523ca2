// The pure parts of the client, with made-up inputs: the slot function, the
// redirect handler and the slot map.
#include "broker/redis/key_slot.h"
#include "broker/redis/redirect.h"
#include "broker/redis/slot_map.h"
#include "broker/redis/store_url.h"
#include "gtest/gtest.h"

namespace faultline::broker::redis {
namespace {

using Kind = RedirectAction::Kind;

const NodeAddress kFrom{"10.0.0.1", 7000};

TEST(KeySlotTest, Crc16MatchesTheSpecificationsCheckValue) {
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
}

TEST(KeySlotTest, HashTagRules) {
  EXPECT_EQ(HashTag("{user1000}.following"), "user1000");
  EXPECT_EQ(HashTag("foo{}{bar}"), "foo{}{bar}");  // empty first tag
  EXPECT_EQ(HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashTag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashTag("no tag"), "no tag");
  EXPECT_EQ(HashTag("open{only"), "open{only");
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("foo"), 12182);  // as CLUSTER KEYSLOT foo says
}

TEST(RedirectTest, PlainRepliesAndApplicationErrorsAreDone) {
  EXPECT_EQ(ClassifyReply(Reply::String("v"), kFrom).kind, Kind::kDone);
  EXPECT_EQ(ClassifyReply(Reply::Nil(), kFrom).kind, Kind::kDone);
  EXPECT_EQ(
      ClassifyReply(Reply::Error("WRONGTYPE Operation against a key"), kFrom)
          .kind,
      Kind::kDone);
  // A word that merely starts like a redirect is not one.
  EXPECT_EQ(ClassifyReply(Reply::Error("MOVEDX 1 1.2.3.4:5"), kFrom).kind,
            Kind::kDone);
}

TEST(RedirectTest, MovedNamesSlotAndTarget) {
  RedirectAction action =
      ClassifyReply(Reply::Error("MOVED 3999 127.0.0.1:6381"), kFrom);
  EXPECT_EQ(action.kind, Kind::kMoved);
  EXPECT_EQ(action.slot, 3999);
  EXPECT_EQ(action.target, (NodeAddress{"127.0.0.1", 6381}));
}

TEST(RedirectTest, AskWithoutHostMeansTheSendersHost) {
  RedirectAction action = ClassifyReply(Reply::Error("ASK 12 :7002"), kFrom);
  EXPECT_EQ(action.kind, Kind::kAsk);
  EXPECT_EQ(action.slot, 12);
  EXPECT_EQ(action.target, (NodeAddress{"10.0.0.1", 7002}));
}

TEST(RedirectTest, Ipv6Target) {
  RedirectAction action =
      ClassifyReply(Reply::Error("MOVED 7 [::1]:7005"), kFrom);
  EXPECT_EQ(action.kind, Kind::kMoved);
  EXPECT_EQ(action.target, (NodeAddress{"::1", 7005}));
}

TEST(RedirectTest, MalformedRedirectsAreReportedAsTheyCame) {
  for (const char* text :
       {"MOVED", "MOVED 3999", "MOVED x 1.2.3.4:5", "MOVED 16384 1.2.3.4:5",
        "MOVED -1 1.2.3.4:5", "ASK 1 1.2.3.4", "ASK 1 1.2.3.4:0",
        "ASK 1 1.2.3.4:99999", "MOVED 1 1.2.3.4:5 extra"}) {
    EXPECT_EQ(ClassifyReply(Reply::Error(text), kFrom).kind, Kind::kDone)
        << text;
  }
}

TEST(RedirectTest, TransientErrorsAreRetriedAndClusterDownRefreshes) {
  RedirectAction down =
      ClassifyReply(Reply::Error("CLUSTERDOWN The cluster is down"), kFrom);
  EXPECT_EQ(down.kind, Kind::kRetryLater);
  EXPECT_TRUE(down.refresh_map);
  EXPECT_EQ(down.reason, "CLUSTERDOWN The cluster is down");
  for (const char* text :
       {"TRYAGAIN Multiple keys request during rehashing of slot",
        "LOADING Redis is loading the dataset in memory",
        "MASTERDOWN Link with MASTER is down"}) {
    RedirectAction action = ClassifyReply(Reply::Error(text), kFrom);
    EXPECT_EQ(action.kind, Kind::kRetryLater) << text;
    EXPECT_FALSE(action.refresh_map) << text;
  }
}

Reply Node(const std::string& host, int port) {
  return Reply::Array({Reply::String(host), Reply::Integer(port),
                       Reply::String("0123456789abcdef")});
}

Reply Range(int first, int last, std::vector<Reply> nodes) {
  std::vector<Reply> elements = {Reply::Integer(first), Reply::Integer(last)};
  for (Reply& node : nodes) elements.push_back(std::move(node));
  return Reply::Array(std::move(elements));
}

TEST(SlotMapTest, FromClusterSlots) {
  Reply reply = Reply::Array({
      Range(0, 5460, {Node("127.0.0.1", 7000), Node("127.0.0.1", 7003)}),
      Range(5461, 10922, {Node("127.0.0.1", 7001)}),
      Range(10923, 16383, {Node("", 7002), Node("?", 7005)}),
  });
  absl::StatusOr<SlotMap> map =
      SlotMap::FromClusterSlots(reply, NodeAddress{"127.0.0.9", 7000});
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_FALSE(map->standalone());
  EXPECT_EQ(map->covered_slots(), kSlotCount);
  EXPECT_EQ(*map->MasterOf(0), (NodeAddress{"127.0.0.1", 7000}));
  EXPECT_EQ(*map->MasterOf(5461), (NodeAddress{"127.0.0.1", 7001}));
  EXPECT_EQ(*map->MasterOf(16383), (NodeAddress{"127.0.0.9", 7002}));
  EXPECT_EQ(map->Masters().size(), 3u);
  EXPECT_EQ(map->nodes().size(), 5u);  // replicas are known, for refreshes
  EXPECT_EQ(map->MasterOf(kSlotCount), nullptr);
  EXPECT_EQ(map->MasterOf(-1), nullptr);

  SlotMap moved = map->WithSlotOn(5, NodeAddress{"127.0.0.1", 7001});
  EXPECT_EQ(*moved.MasterOf(5), (NodeAddress{"127.0.0.1", 7001}));
  EXPECT_EQ(*map->MasterOf(5), (NodeAddress{"127.0.0.1", 7000}));
}

TEST(SlotMapTest, GapsAreUncovered) {
  Reply reply = Reply::Array({Range(0, 99, {Node("127.0.0.1", 7000)})});
  absl::StatusOr<SlotMap> map = SlotMap::FromClusterSlots(reply, kFrom);
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->covered_slots(), 100);
  EXPECT_EQ(map->MasterOf(100), nullptr);
}

TEST(SlotMapTest, MalformedRepliesAreRefused) {
  const std::vector<Reply> bad = {
      Reply::Error("ERR nope"),
      Reply::Array({Reply::Integer(1)}),
      Reply::Array({Range(10, 5, {Node("127.0.0.1", 7000)})}),
      Reply::Array({Range(0, 16384, {Node("127.0.0.1", 7000)})}),
      Reply::Array({Range(0, 1, {Node("127.0.0.1", 0)})}),
      Reply::Array({Range(0, 1, {Reply::String("127.0.0.1")})}),
      Reply::Array({Reply::Array(
          {Reply::String("0"), Reply::Integer(1), Node("127.0.0.1", 7000)})}),
  };
  for (const Reply& reply : bad) {
    EXPECT_EQ(SlotMap::FromClusterSlots(reply, kFrom).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(SlotMapTest, StandaloneServesEverySlot) {
  SlotMap map = SlotMap::Standalone(NodeAddress{"127.0.0.1", 6379});
  EXPECT_TRUE(map.standalone());
  EXPECT_EQ(map.covered_slots(), kSlotCount);
  EXPECT_EQ(map.Masters().size(), 1u);
}

TEST(NodeAddressTest, Parse) {
  EXPECT_EQ(*ParseNodeAddress("127.0.0.1:7000"),
            (NodeAddress{"127.0.0.1", 7000}));
  EXPECT_EQ(*ParseNodeAddress("[::1]:7000"), (NodeAddress{"::1", 7000}));
  EXPECT_EQ(ParseNodeAddress("[::1]:7000")->ToString(), "[::1]:7000");
  for (const char* bad : {"", "host", ":7000", "h:0", "h:65536", "h:x"}) {
    EXPECT_FALSE(ParseNodeAddress(bad).ok()) << bad;
  }
}

TEST(StoreUrlTest, SeedsOfAClusterOrOneServer) {
  absl::StatusOr<std::vector<NodeAddress>> seeds =
      ParseStoreUrl("redis://127.0.0.1:7000,[::1]:7001,localhost:7002");
  ASSERT_TRUE(seeds.ok()) << seeds.status();
  ASSERT_EQ(seeds->size(), 3u);
  EXPECT_EQ((*seeds)[0], (NodeAddress{"127.0.0.1", 7000}));
  EXPECT_EQ((*seeds)[1], (NodeAddress{"::1", 7001}));
  EXPECT_EQ((*seeds)[2].port, 7002);
  EXPECT_TRUE((*seeds)[2].host == "127.0.0.1" || (*seeds)[2].host == "::1")
      << (*seeds)[2].host;
  for (const char* bad : {"", "redis://", "http://a:1", "redis://a",
                          "redis://127.0.0.1:1,", "redis://127.0.0.1:0"}) {
    EXPECT_EQ(ParseStoreUrl(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(ReplyTest, ErrorCodesAreWholeWords) {
  EXPECT_TRUE(
      Reply::Error("NOSCRIPT No matching script").IsErrorCode("NOSCRIPT"));
  EXPECT_TRUE(Reply::Error("TRYAGAIN").IsErrorCode("TRYAGAIN"));
  EXPECT_FALSE(Reply::Error("TRYAGAINX").IsErrorCode("TRYAGAIN"));
  EXPECT_FALSE(Reply::String("TRYAGAIN").IsErrorCode("TRYAGAIN"));
  EXPECT_EQ(Reply::String(std::string(4096, 'x')).Summary(), "[4096 bytes]");
}

}  // namespace
}  // namespace faultline::broker::redis
