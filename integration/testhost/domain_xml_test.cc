#include "integration/testhost/domain_xml.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace faultline::testhost {
namespace {

DomainConfig ValidConfig() {
  DomainConfig config;
  config.name = "faultline-testhost-1-abc";
  config.memory_mib = 1536;
  config.cpus = 2;
  config.kernel_path = "/boot/vmlinuz";
  config.initramfs_path = "/out/initramfs.cpio";
  config.kernel_cmdline = "console=ttyS0 quiet";
  config.console_path = "/results/console.log";
  config.results_dir = "/results";
  return config;
}

TEST(XmlEscapeTest, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(XmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(XmlEscape("plain /path-1"), "plain /path-1");
}

TEST(BuildDomainXmlTest, DescribesANestedCapableTcgDomain) {
  absl::StatusOr<std::string> xml = BuildDomainXml(ValidConfig());
  ASSERT_TRUE(xml.ok()) << xml.status();
  for (const char* expected : {
           "<domain type='qemu'>",
           "<name>faultline-testhost-1-abc</name>",
           "<memory unit='MiB'>1536</memory>",
           "<vcpu>2</vcpu>",
           "<cpu mode='maximum'/>",
           "machine='q35'",
           "<kernel>/boot/vmlinuz</kernel>",
           "<initrd>/out/initramfs.cpio</initrd>",
           "<cmdline>console=ttyS0 quiet</cmdline>",
           "<acpi/>",
           "<on_poweroff>destroy</on_poweroff>",
           "<on_reboot>destroy</on_reboot>",
           "<source path='/results/console.log' append='off'/>",
       }) {
    EXPECT_TRUE(absl::StrContains(*xml, expected)) << expected << "\n" << *xml;
  }
}

TEST(BuildDomainXmlTest, SharesTheRootReadOnlyAndResultsWritable) {
  absl::StatusOr<std::string> xml = BuildDomainXml(ValidConfig());
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_TRUE(absl::StrContains(*xml,
                                "<filesystem type='mount' "
                                "accessmode='passthrough' multidevs='remap'>\n"
                                "      <source dir='/'/>\n"
                                "      <target dir='hostroot'/>\n"
                                "      <readonly/>"))
      << *xml;
  EXPECT_TRUE(absl::StrContains(*xml,
                                "<source dir='/results'/>\n"
                                "      <target dir='results'/>\n"
                                "    </filesystem>"))
      << *xml;
}

TEST(BuildDomainXmlTest, EscapesUserControlledText) {
  DomainConfig config = ValidConfig();
  config.results_dir = "/home/o'neil/<r&d>";
  config.console_path = "/home/o'neil/<r&d>/console.log";
  config.kernel_cmdline = "a=\"b\" c<d";
  absl::StatusOr<std::string> xml = BuildDomainXml(config);
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_TRUE(absl::StrContains(
      *xml, "<source dir='/home/o&apos;neil/&lt;r&amp;d&gt;'/>"));
  EXPECT_TRUE(
      absl::StrContains(*xml, "<cmdline>a=&quot;b&quot; c&lt;d</cmdline>"));
  EXPECT_FALSE(absl::StrContains(*xml, "o'neil"));
}

TEST(BuildDomainXmlTest, RejectsBadConfigs) {
  DomainConfig relative = ValidConfig();
  relative.kernel_path = "vmlinuz";
  EXPECT_EQ(BuildDomainXml(relative).status().code(),
            absl::StatusCode::kInvalidArgument);

  DomainConfig empty_results = ValidConfig();
  empty_results.results_dir = "";
  EXPECT_EQ(BuildDomainXml(empty_results).status().code(),
            absl::StatusCode::kInvalidArgument);

  DomainConfig no_memory = ValidConfig();
  no_memory.memory_mib = 0;
  EXPECT_EQ(BuildDomainXml(no_memory).status().code(),
            absl::StatusCode::kInvalidArgument);

  DomainConfig no_cpus = ValidConfig();
  no_cpus.cpus = 0;
  EXPECT_EQ(BuildDomainXml(no_cpus).status().code(),
            absl::StatusCode::kInvalidArgument);

  DomainConfig no_name = ValidConfig();
  no_name.name = "";
  EXPECT_EQ(BuildDomainXml(no_name).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace faultline::testhost
