// Service tests of the page stores on the in-memory backend, over the real
// Unix-socket channel: PutPages' bounds, the limits, ListStores and
// DeleteStore. (On Redis: redis_service_test.cc.)
#include "broker/server_test_fixture.h"

namespace faultline::broker {
namespace {

using v1::wire::kPageBytes;

v1::PutPagesRequest Put(const std::string& store, uint64_t offset,
                        uint64_t pages, char fill = 'p') {
  v1::PutPagesRequest request;
  request.set_store(store);
  request.set_offset(offset);
  request.set_data(std::string(pages * kPageBytes, fill));
  return request;
}

v1::Region StoreRegion(uint32_t id, uint64_t pages, const std::string& store) {
  v1::Region region = PatternRegion(id, 0, pages, 0);
  region.mutable_source()->mutable_store()->set_store(store);
  return region;
}

TEST_F(BrokerServerTest, PutPagesRefusesFarOffsetsAndHugeMessages) {
  v1::PutPagesResponse put;
  grpc::Status far = PutPages({Put("s", uint64_t{1} << 62, 1)}, &put);
  EXPECT_EQ(far.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(far.error_message().find("largest store offset"), std::string::npos)
      << far.error_message();
  // Pages before a refused message stay, and the count says so.
  grpc::Status huge = PutPages(
      {Put("s", 0, 2),
       Put("", 2 * kPageBytes, v1::wire::kMaxPutPagesBytes / kPageBytes + 1)},
      &put);
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(huge.error_message().find("at most 4194304 bytes"),
            std::string::npos)
      << huge.error_message();
  EXPECT_NE(huge.error_message().find("2 pages were stored before"),
            std::string::npos)
      << huge.error_message();
  auto attached = MustAttach("vm", {StoreRegion(1, 8, "s")});
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, kPageBytes, &answer).ok());
  EXPECT_EQ(answer.page().data(), std::string(kPageBytes, 'p'));
  ASSERT_TRUE(Resolve(attached, 1, 2 * kPageBytes, &answer).ok());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE);
  // A message of exactly the bound is fine.
  EXPECT_TRUE(
      PutPages({Put("s", 0, v1::wire::kMaxPutPagesBytes / kPageBytes)}, &put)
          .ok());
}

TEST_F(BrokerServerTest, ListAndDeleteStores) {
  v1::PutPagesResponse put;
  ASSERT_TRUE(
      PutPages({Put("a", 0, 3), Put("", 8 * kPageBytes, 1)}, &put).ok());
  ASSERT_TRUE(PutPages({Put("b", 0, 1)}, &put).ok());
  auto attached = MustAttach("vm", {StoreRegion(1, 16, "a")});
  v1::ListStoresResponse listed;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(
        admin_->ListStores(&context, v1::ListStoresRequest(), &listed).ok());
  }
  EXPECT_EQ(listed.backend(), "memory");
  EXPECT_EQ(listed.max_offset(), uint64_t{1} << 40);
  ASSERT_EQ(listed.stores_size(), 2);
  EXPECT_EQ(listed.stores(0).store(), "a");
  EXPECT_EQ(listed.stores(0).pages(), 4u);
  EXPECT_EQ(listed.stores(1).pages(), 1u);

  v1::DeleteStoreRequest request;
  request.set_store("a");
  v1::DeleteStoreResponse deleted;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(admin_->DeleteStore(&context, request, &deleted).ok());
  }
  EXPECT_EQ(deleted.pages_deleted(), 4u);
  // The live region that names it now reads its pages as missing.
  v1::FaultAnswer answer;
  ASSERT_TRUE(Resolve(attached, 1, 0, &answer).ok());
  EXPECT_EQ(answer.retry().reason(), v1::RETRY_REASON_NOT_YET_AVAILABLE);
  grpc::ClientContext again;
  SetDeadline(&again);
  EXPECT_EQ(admin_->DeleteStore(&again, request, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

class StoreLimitsTest : public BrokerServerTest {
 protected:
  void SetUp() override {
    store_limits_.store_bytes = 4 * kPageBytes;
    store_limits_.total_bytes = 6 * kPageBytes;
    BrokerServerTest::SetUp();
  }
};

TEST_F(StoreLimitsTest, PutsPastALimitAreRefusedAndChangeNothing) {
  v1::PutPagesResponse put;
  ASSERT_TRUE(PutPages({Put("a", 0, 4)}, &put).ok());
  grpc::Status over = PutPages({Put("a", 4 * kPageBytes, 1)}, &put);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(over.error_message().find("per store"), std::string::npos)
      << over.error_message();
  ASSERT_TRUE(PutPages({Put("b", 0, 2)}, &put).ok());
  over = PutPages({Put("c", 0, 1)}, &put);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(over.error_message().find("all stores"), std::string::npos)
      << over.error_message();
  // Rewriting pages a store holds needs no room.
  EXPECT_TRUE(PutPages({Put("a", 0, 4, 'r')}, &put).ok());
}

}  // namespace
}  // namespace faultline::broker
