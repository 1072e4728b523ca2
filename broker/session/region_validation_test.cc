#include "broker/session/region_validation.h"

#include "gtest/gtest.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

v1::AttachRequest Request() {
  v1::AttachRequest request;
  request.set_protocol_version(v1::wire::kProtocolVersion);
  request.set_vm_name("vm");
  v1::Region* region = request.add_regions();
  region->set_region_id(1);
  region->set_name("ram");
  region->set_kind(v1::REGION_KIND_RAM);
  region->set_size_bytes(4 * 4096);
  region->set_page_size(4096);
  region->mutable_source()->mutable_zero();
  return request;
}

TEST(RegionValidationTest, AcceptsAGoodRequest) {
  EXPECT_TRUE(ValidateAttach(Request()).ok());
}

TEST(RegionValidationTest, RefusesWithTheOffendingValue) {
  auto expect_refused = [](v1::AttachRequest request, absl::StatusCode code,
                           const std::string& text) {
    absl::Status status = ValidateAttach(request);
    EXPECT_EQ(status.code(), code) << text;
    EXPECT_NE(status.message().find(text), absl::string_view::npos)
        << status.message();
  };
  auto request = Request();
  request.set_protocol_version(v1::wire::kProtocolVersion + 1);
  expect_refused(request, absl::StatusCode::kFailedPrecondition,
                 "protocol_version 2");
  request = Request();
  request.set_vm_name("");
  expect_refused(request, absl::StatusCode::kInvalidArgument, "vm_name");
  request = Request();
  request.clear_regions();
  expect_refused(request, absl::StatusCode::kInvalidArgument, "got 0");
  request = Request();
  request.mutable_regions(0)->set_kind(v1::REGION_KIND_UNSPECIFIED);
  expect_refused(request, absl::StatusCode::kInvalidArgument, "kind 0");
  request = Request();
  request.mutable_regions(0)->set_kind(v1::REGION_KIND_DEVICE_MEMORY);
  expect_refused(request, absl::StatusCode::kInvalidArgument,
                 "needs a device source");
  request = Request();
  request.mutable_regions(0)->set_size_bytes(4097);
  expect_refused(request, absl::StatusCode::kInvalidArgument, "4097");
  request = Request();
  request.mutable_regions(0)->set_guest_physical_base(~0ull - 4095);
  expect_refused(request, absl::StatusCode::kInvalidArgument, "64-bit");
  request = Request();
  request.mutable_regions(0)
      ->mutable_source()
      ->mutable_image()
      ->set_file_offset(12);
  request.mutable_regions(0)->mutable_source()->mutable_image()->set_path("/x");
  expect_refused(request, absl::StatusCode::kInvalidArgument, "file_offset 12");
  request = Request();
  *request.add_regions() = request.regions(0);
  request.mutable_regions(1)->set_region_id(2);
  request.mutable_regions(1)->set_guest_physical_base(0x100000);
  expect_refused(request, absl::StatusCode::kInvalidArgument,
                 "name \"ram\" is declared twice");
  request.mutable_regions(1)->set_name("ram2");
  request.mutable_regions(1)->set_guest_physical_base(0x3000);
  expect_refused(request, absl::StatusCode::kInvalidArgument, "overlap");
}

TEST(RegionValidationTest, FaultTargets) {
  v1::Region region = Request().regions(0);
  EXPECT_TRUE(ValidateFaultTarget(region, 3 * 4096).ok());
  EXPECT_FALSE(ValidateFaultTarget(region, 4 * 4096).ok());
  EXPECT_FALSE(ValidateFaultTarget(region, 17).ok());
}

}  // namespace
}  // namespace faultline::broker
