#include "vmm/loader/acpi_tables.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/pc_machine.h"
#include "vmm/loader/aml.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;
namespace pc = ::faultline::pc_machine;

uint64_t Get(const std::string& bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= uint64_t{static_cast<uint8_t>(bytes[offset + i])} << (8 * i);
  }
  return value;
}

// The table at guest-physical `address` inside tables at `base`.
std::string TableAt(const AcpiTables& tables, uint64_t base, uint64_t address) {
  const size_t offset = address - base;
  return tables.bytes.substr(offset, Get(tables.bytes, offset + 4, 4));
}

constexpr uint64_t kBase = 0xE0000;

class AcpiTablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tables = BuildAcpiTables({kBase, 2});
    ASSERT_TRUE(tables.ok()) << tables.status();
    tables_ = *std::move(tables);
    const std::string& bytes = tables_.bytes;
    xsdt_ = TableAt(tables_, kBase, Get(bytes, 24, 8));
    fadt_ = TableAt(tables_, kBase, Get(xsdt_, 36, 8));
    madt_ = TableAt(tables_, kBase, Get(xsdt_, 44, 8));
    dsdt_ = TableAt(tables_, kBase, Get(fadt_, 140, 8));
  }
  AcpiTables tables_;
  std::string xsdt_, fadt_, madt_, dsdt_;
};

TEST_F(AcpiTablesTest, RsdpIsFoundAndEveryTableSumsToZero) {
  EXPECT_EQ(tables_.rsdp_address, kBase);
  EXPECT_EQ(tables_.rsdp_address % 16, 0u) << "a BIOS-area scan finds it";
  EXPECT_EQ(tables_.bytes.substr(0, 8), "RSD PTR ");
  EXPECT_EQ(AcpiChecksum(tables_.bytes, 0, 20), 0);
  EXPECT_EQ(AcpiChecksum(tables_.bytes, 0, 36), 0);
  EXPECT_EQ(tables_.bytes[15], 2) << "ACPI 2.0 RSDP with an XSDT";
  for (const std::string* table : {&xsdt_, &fadt_, &madt_, &dsdt_}) {
    EXPECT_EQ(AcpiChecksum(*table, 0, table->size()), 0) << table->substr(0, 4);
  }
  EXPECT_EQ(xsdt_.substr(0, 4), "XSDT");
  EXPECT_EQ(fadt_.substr(0, 4), "FACP");
  EXPECT_EQ(madt_.substr(0, 4), "APIC");
  EXPECT_EQ(dsdt_.substr(0, 4), "DSDT");
  EXPECT_EQ(tables_.pages.size(), 1u) << "one page in the BIOS area";
}

TEST_F(AcpiTablesTest, FadtIsHardwareReducedWithThePowerRegisters) {
  EXPECT_EQ(fadt_.size(), 276u);
  EXPECT_EQ(fadt_[8], 6) << "revision";
  const uint32_t flags = Get(fadt_, 112, 4);
  EXPECT_NE(flags & (1u << 20), 0u) << "HW_REDUCED_ACPI";
  EXPECT_NE(flags & (1u << 10), 0u) << "RESET_REG_SUP";
  EXPECT_EQ(Get(fadt_, 109, 2) & 0x2, 0u) << "no 8042: Linux skips its probe";
  // Generic address structures: system I/O, 8 bits, byte access, the port.
  EXPECT_EQ(fadt_[244], 1);
  EXPECT_EQ(fadt_[245], 8);
  EXPECT_EQ(Get(fadt_, 248, 8), pc::kAcpiSleepControlPort);
  EXPECT_EQ(Get(fadt_, 260, 8), pc::kAcpiSleepStatusPort);
  EXPECT_EQ(Get(fadt_, 120, 8), pc::kAcpiResetPort);
  EXPECT_EQ(static_cast<uint8_t>(fadt_[128]), pc::kAcpiResetValue);
  EXPECT_EQ(Get(fadt_, 40, 4), Get(fadt_, 140, 8)) << "DSDT and X_DSDT";
}

TEST_F(AcpiTablesTest, MadtListsEveryVcpuAndTheIoApic) {
  EXPECT_EQ(Get(madt_, 36, 4), pc::kLocalApicAddress);
  size_t offset = 44;
  int local_apics = 0, io_apics = 0, nmis = 0;
  while (offset < madt_.size()) {
    const uint8_t type = madt_[offset];
    const uint8_t length = madt_[offset + 1];
    ASSERT_GT(length, 0);
    if (type == 0) {
      EXPECT_EQ(static_cast<uint8_t>(madt_[offset + 3]), local_apics)
          << "APIC id = vCPU index";
      EXPECT_EQ(Get(madt_, offset + 4, 4), 1u) << "enabled";
      ++local_apics;
    } else if (type == 1) {
      EXPECT_EQ(static_cast<uint8_t>(madt_[offset + 2]), 2) << "IOAPIC id";
      EXPECT_EQ(Get(madt_, offset + 4, 4), pc::kIoApicAddress);
      EXPECT_EQ(Get(madt_, offset + 8, 4), 0u) << "GSI base";
      ++io_apics;
    } else if (type == 4) {
      EXPECT_EQ(static_cast<uint8_t>(madt_[offset + 5]), 1) << "LINT1";
      ++nmis;
    }
    offset += length;
  }
  EXPECT_EQ(offset, madt_.size());
  EXPECT_EQ(local_apics, 2);
  EXPECT_EQ(io_apics, 1);
  EXPECT_EQ(nmis, 1);
}

TEST_F(AcpiTablesTest, DsdtHasTheHostBridgeAndS5) {
  EXPECT_THAT(dsdt_, HasSubstr(aml::Name("_HID", aml::EisaId("PNP0A03"))));
  EXPECT_THAT(dsdt_, HasSubstr(std::string("\x08_S5_\x12", 6)));
  EXPECT_THAT(dsdt_, HasSubstr("PCI0"));
}

// iasl (acpica-tools, installed by tools/setup) disassembles the DSDT back
// to ASL: the AML is well-formed, not only what this file thinks it is.
TEST_F(AcpiTablesTest, IaslDisassemblesTheDsdt) {
  if (::access("/usr/bin/iasl", X_OK) != 0) {
    GTEST_SKIP() << "iasl is missing: run tools/setup (acpica-tools)";
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string aml_path = dir + "/dsdt.aml";
  std::ofstream(aml_path, std::ios::binary) << dsdt_;
  const std::string command =
      "cd '" + dir + "' && /usr/bin/iasl -d dsdt.aml >iasl.log 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream dsl(dir + "/dsdt.dsl");
  std::stringstream text;
  text << dsl.rdbuf();
  const std::string asl = text.str();
  EXPECT_THAT(asl, HasSubstr("Device (PCI0)"));
  EXPECT_THAT(asl, HasSubstr("EisaId (\"PNP0A03\")"));
  EXPECT_THAT(asl, HasSubstr("WordBusNumber (ResourceProducer"));
  EXPECT_THAT(asl, HasSubstr("0xC0000000"));
  EXPECT_THAT(asl, HasSubstr("0x0000000100000000"));
  EXPECT_THAT(asl, HasSubstr("Name (_S5, Package (0x04)"));
  EXPECT_THAT(asl, HasSubstr("EisaId (\"PNP0501\")"));
  EXPECT_THAT(asl, HasSubstr("IRQNoFlags ()\n                    {4}"));
  EXPECT_THAT(asl, HasSubstr("EisaId (\"PNP0B00\")"));
}

TEST(AcpiTablesBadInputTest, RefusesWhatCannotBeDescribed) {
  EXPECT_FALSE(BuildAcpiTables({0xE0010, 1}).ok()) << "not page-aligned";
  EXPECT_FALSE(BuildAcpiTables({1ull << 32, 1}).ok()) << "above 4 GiB";
  EXPECT_FALSE(BuildAcpiTables({kBase, 0}).ok());
}

TEST(AmlTest, PkgLengthCountsItself) {
  EXPECT_EQ(aml::PkgLength(0), std::string("\x01"));
  EXPECT_EQ(aml::PkgLength(62), std::string("\x3F"));
  // 63 content bytes + 2 length bytes = 65 = 0x41: lead 0x41, then 0x04.
  EXPECT_EQ(aml::PkgLength(63), std::string("\x41\x04"));
  EXPECT_EQ(aml::PkgLength(0xFFD), std::string("\x4F\xFF"));
  EXPECT_EQ(aml::PkgLength(0xFFE).size(), 3u);
}

TEST(AmlTest, IntegersAndNames) {
  EXPECT_EQ(aml::Integer(0), std::string(1, '\0'));
  EXPECT_EQ(aml::Integer(1), "\x01");
  EXPECT_EQ(aml::Integer(5), "\x0A\x05");
  EXPECT_EQ(aml::Integer(0x1234), "\x0B\x34\x12");
  EXPECT_EQ(aml::Integer(0x100000000ull).substr(0, 1), "\x0E");
  EXPECT_EQ(aml::NameString("\\_SB"), "\\_SB_");
  EXPECT_EQ(aml::EisaId("PNP0A03"), std::string("\x0C\x41\xD0\x0A\x03", 5));
}

}  // namespace
}  // namespace faultline::vmm
