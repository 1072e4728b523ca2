// Runs against libvirt's own in-process test driver ("test:///default"),
// which needs no daemon and starts no VM.
#include "integration/testhost/libvirt_connection.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

constexpr char kTestDomainXml[] = R"(<domain type='test'>
  <name>faultline-testhost-unit</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
</domain>)";

bool Lists(LibvirtConnection& connection, const std::string& name) {
  absl::StatusOr<std::vector<std::string>> names = connection.ListDomainNames();
  EXPECT_TRUE(names.ok()) << names.status();
  return names.ok() &&
         std::find(names->begin(), names->end(), name) != names->end();
}

TEST(LibvirtConnectionTest, TransientDomainIsGoneOnceDestroyed) {
  absl::StatusOr<std::unique_ptr<LibvirtConnection>> connection =
      LibvirtConnection::Open("test:///default");
  ASSERT_TRUE(connection.ok()) << connection.status();
  absl::StatusOr<std::unique_ptr<Domain>> domain =
      (*connection)->CreateTransientDomain(kTestDomainXml);
  ASSERT_TRUE(domain.ok()) << domain.status();
  EXPECT_EQ((*domain)->name(), "faultline-testhost-unit");
  EXPECT_TRUE(Lists(**connection, "faultline-testhost-unit"));
  EXPECT_TRUE((*domain)->IsRunning().value());

  ASSERT_TRUE((*domain)->Destroy().ok());
  EXPECT_FALSE((*domain)->IsRunning().value());
  EXPECT_FALSE(Lists(**connection, "faultline-testhost-unit"));
  EXPECT_TRUE((*domain)->Destroy().ok()) << "destroying twice is harmless";
}

TEST(LibvirtConnectionTest, DroppingTheHandleDestroysTheDomain) {
  absl::StatusOr<std::unique_ptr<LibvirtConnection>> connection =
      LibvirtConnection::Open("test:///default");
  ASSERT_TRUE(connection.ok()) << connection.status();
  {
    absl::StatusOr<std::unique_ptr<Domain>> domain =
        (*connection)->CreateTransientDomain(kTestDomainXml);
    ASSERT_TRUE(domain.ok()) << domain.status();
  }
  EXPECT_FALSE(Lists(**connection, "faultline-testhost-unit"));
}

TEST(LibvirtConnectionTest, DestroyByNameToleratesAMissingDomain) {
  absl::StatusOr<std::unique_ptr<LibvirtConnection>> connection =
      LibvirtConnection::Open("test:///default");
  ASSERT_TRUE(connection.ok()) << connection.status();
  EXPECT_TRUE((*connection)->DestroyDomainByName("no-such-domain").ok());
}

TEST(LibvirtConnectionTest, BadXmlIsAClearError) {
  absl::StatusOr<std::unique_ptr<LibvirtConnection>> connection =
      LibvirtConnection::Open("test:///default");
  ASSERT_TRUE(connection.ok()) << connection.status();
  absl::StatusOr<std::unique_ptr<Domain>> domain =
      (*connection)->CreateTransientDomain("<domain");
  ASSERT_FALSE(domain.ok());
  EXPECT_NE(domain.status().message().find("starting the domain"),
            absl::string_view::npos)
      << domain.status();
}

TEST(LibvirtConnectionTest, UnknownUriIsAnError) {
  EXPECT_FALSE(LibvirtConnection::Open("nosuchdriver:///nowhere").ok());
}

}  // namespace
}  // namespace faultline::testhost
