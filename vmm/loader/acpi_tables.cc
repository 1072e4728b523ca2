#include "vmm/loader/acpi_tables.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/guest_abi.h"
#include "proto/pc_machine.h"
#include "vmm/loader/aml.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;
namespace pc = ::faultline::pc_machine;

constexpr char kOemId[] = "FLTLNE";         // 6 bytes
constexpr char kOemTableId[] = "FLTLNEVM";  // 8 bytes
constexpr size_t kHeaderBytes = 36;

// FADT (ACPI 6.0, 276 bytes) offsets and values.
constexpr size_t kFadtBytes = 276;
constexpr uint8_t kFadtRevision = 6;
constexpr size_t kFadtDsdt = 40;
constexpr size_t kFadtBootArch = 109;
constexpr size_t kFadtFlags = 112;
constexpr size_t kFadtResetRegister = 116;
constexpr size_t kFadtResetValue = 128;
constexpr size_t kFadtMinorVersion = 131;
constexpr size_t kFadtXDsdt = 140;
constexpr size_t kFadtSleepControl = 244;
constexpr size_t kFadtSleepStatus = 256;
constexpr size_t kFadtHypervisorId = 268;
constexpr uint16_t kBootArchVgaNotPresent = 1 << 2;
constexpr uint32_t kFlagResetRegisterSupported = 1 << 10;
constexpr uint32_t kFlagHardwareReduced = 1 << 20;
constexpr uint8_t kSystemIo = 1;
constexpr uint8_t kByteAccess = 1;

// MADT entries.
constexpr uint8_t kMadtLocalApic = 0;
constexpr uint8_t kMadtIoApic = 1;
constexpr uint8_t kMadtLocalApicNmi = 4;
constexpr uint32_t kLocalApicEnabled = 1;

void Put(std::string& bytes, size_t offset, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) {
    bytes[offset + i] = static_cast<char>(value >> (8 * i));
  }
}

std::string Little(uint64_t value, size_t width) {
  std::string out(width, '\0');
  Put(out, 0, value, width);
  return out;
}

// A generic address structure for an 8-bit system I/O register.
std::string IoRegister(uint16_t port) {
  return absl::StrCat(std::string(1, kSystemIo), std::string(1, 8),
                      std::string(1, 0), std::string(1, kByteAccess),
                      Little(port, 8));
}

// A table: header (length and checksum filled in) plus `body`.
std::string Table(absl::string_view signature, uint8_t revision,
                  const std::string& body) {
  std::string table(kHeaderBytes, '\0');
  std::memcpy(table.data(), signature.data(), 4);
  Put(table, 4, kHeaderBytes + body.size(), 4);
  table[8] = static_cast<char>(revision);
  std::memcpy(table.data() + 10, kOemId, 6);
  std::memcpy(table.data() + 16, kOemTableId, 8);
  Put(table, 24, 1, 4);  // OEM revision
  std::memcpy(table.data() + 28, "FLVM", 4);
  Put(table, 32, 1, 4);  // creator revision
  table += body;
  table[9] = static_cast<char>(-AcpiChecksum(table, 0, table.size()));
  return table;
}

std::string Fadt(uint64_t dsdt_address) {
  std::string body(kFadtBytes - kHeaderBytes, '\0');
  auto at = [](size_t offset) { return offset - kHeaderBytes; };
  Put(body, at(kFadtDsdt), dsdt_address, 4);
  Put(body, at(kFadtBootArch), kBootArchVgaNotPresent, 2);  // and no 8042
  Put(body, at(kFadtFlags), kFlagHardwareReduced | kFlagResetRegisterSupported,
      4);
  body.replace(at(kFadtResetRegister), 12, IoRegister(pc::kAcpiResetPort));
  body[at(kFadtResetValue)] = static_cast<char>(pc::kAcpiResetValue);
  body[at(kFadtMinorVersion)] = 0;
  Put(body, at(kFadtXDsdt), dsdt_address, 8);
  body.replace(at(kFadtSleepControl), 12,
               IoRegister(pc::kAcpiSleepControlPort));
  body.replace(at(kFadtSleepStatus), 12, IoRegister(pc::kAcpiSleepStatusPort));
  body.replace(at(kFadtHypervisorId), 8, "FLTLINE\0", 8);
  return Table("FACP", kFadtRevision, body);
}

std::string Madt(uint32_t vcpu_count) {
  std::string body = absl::StrCat(Little(pc::kLocalApicAddress, 4),
                                  Little(0, 4));  // flags: no PC-AT PIC mode
  for (uint32_t id = 0; id < vcpu_count; ++id) {
    body += absl::StrCat(std::string(1, kMadtLocalApic), std::string(1, 8),
                         std::string(1, static_cast<char>(id)),
                         std::string(1, static_cast<char>(id)),
                         Little(kLocalApicEnabled, 4));
  }
  // The IOAPIC's id follows the local APICs', as in an MP table.
  body += absl::StrCat(std::string(1, kMadtIoApic), std::string(1, 12),
                       std::string(1, static_cast<char>(vcpu_count)),
                       std::string(1, 0), Little(pc::kIoApicAddress, 4),
                       Little(0, 4));
  // LINT1 of every processor is the NMI line.
  body += absl::StrCat(std::string(1, kMadtLocalApicNmi), std::string(1, 6),
                       std::string(1, static_cast<char>(0xFF)), Little(0, 2),
                       std::string(1, 1));
  return Table("APIC", 5, body);
}

std::string Dsdt() {
  const uint64_t window_end =
      abi::kPciMemWindowBarAddress + abi::kMaxPciMemWindowBytes - 1;
  const std::string host_bridge = aml::Device(
      "PCI0",
      aml::Name("_HID", aml::EisaId("PNP0A03")) +
          aml::Name("_UID", aml::Integer(0)) +
          aml::Name("_BBN", aml::Integer(0)) +
          aml::Name(
              "_CRS",
              aml::ResourceTemplate({
                  aml::WordBusNumber(0, 0),
                  aml::IoPort(abi::kPciConfigAddressPort,
                              abi::kPciConfigAddressPort, 1, 8),
                  aml::WordIo(0x0000, abi::kPciConfigAddressPort - 1),
                  aml::WordIo(abi::kPciConfigAddressPort + 8, 0xFFFF),
                  // RAM ends at or below the hole; the window stops below
                  // the IOAPIC and local APICs.
                  aml::DWordMemory(
                      static_cast<uint32_t>(abi::kMaxRamBytes),
                      static_cast<uint32_t>(pc::kIoApicAddress - 1), false),
                  aml::QWordMemory(abi::kPciMemWindowBarAddress, window_end,
                                   true),
              })));
  // The UART and the RTC, so Linux maps their ISA interrupts (with
  // HW-reduced ACPI there is no legacy PIC, and only devices the DSDT
  // describes get IRQs); the i8042 stays undescribed (the FADT says none).
  const std::string uart = aml::Device(
      "COM1",
      aml::Name("_HID", aml::EisaId("PNP0501")) +
          aml::Name("_UID", aml::Integer(1)) +
          aml::Name("_CRS",
                    aml::ResourceTemplate(
                        {aml::IoPort(abi::kSerialPort, abi::kSerialPort, 1, 8),
                         aml::IrqNoFlags(pc::kSerialIrq)})));
  const std::string rtc = aml::Device(
      "RTC", aml::Name("_HID", aml::EisaId("PNP0B00")) +
                 aml::Name("_CRS", aml::ResourceTemplate(
                                       {aml::IoPort(pc::kCmosIndexPort,
                                                    pc::kCmosIndexPort, 1, 2),
                                        aml::IrqNoFlags(pc::kRtcIrq)})));
  const std::string s5 = aml::Name(
      "_S5", aml::Package({aml::Integer(pc::kAcpiS5SleepType), aml::Integer(0),
                           aml::Integer(0), aml::Integer(0)}));
  return Table("DSDT", 2, aml::Scope("\\_SB", host_bridge + uart + rtc) + s5);
}

std::string Rsdp(uint64_t xsdt_address) {
  std::string rsdp(36, '\0');
  std::memcpy(rsdp.data(), "RSD PTR ", 8);
  std::memcpy(rsdp.data() + 9, kOemId, 6);
  rsdp[15] = 2;  // ACPI 2.0+: XSDT
  Put(rsdp, 20, rsdp.size(), 4);
  Put(rsdp, 24, xsdt_address, 8);
  rsdp[8] = static_cast<char>(-AcpiChecksum(rsdp, 0, 20));
  rsdp[32] = static_cast<char>(-AcpiChecksum(rsdp, 0, 36));
  return rsdp;
}

size_t Align16(size_t offset) { return (offset + 15) & ~size_t{15}; }

}  // namespace

uint8_t AcpiChecksum(const std::string& bytes, size_t offset, size_t length) {
  uint8_t sum = 0;
  for (size_t i = offset; i < offset + length && i < bytes.size(); ++i) {
    sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(bytes[i]));
  }
  return sum;
}

absl::StatusOr<AcpiTables> BuildAcpiTables(const AcpiConfig& config) {
  if (config.base % abi::kPageBytes != 0 || config.base >= (1ull << 32)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ACPI tables at %#x: need a page below 4 GiB", config.base));
  }
  if (config.vcpu_count == 0 || config.vcpu_count > 0xFE) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%u vCPUs do not fit in a MADT", config.vcpu_count));
  }
  // RSDP, then the tables, each on a 16-byte boundary.
  const size_t xsdt_offset = Align16(36);
  const size_t xsdt_bytes = kHeaderBytes + 2 * 8;
  const size_t fadt_offset = Align16(xsdt_offset + xsdt_bytes);
  const size_t madt_offset = Align16(fadt_offset + kFadtBytes);
  const std::string madt = Madt(config.vcpu_count);
  const size_t dsdt_offset = Align16(madt_offset + madt.size());
  const std::string dsdt = Dsdt();
  const std::string fadt = Fadt(config.base + dsdt_offset);
  const std::string xsdt = Table("XSDT", 1,
                                 Little(config.base + fadt_offset, 8) +
                                     Little(config.base + madt_offset, 8));

  AcpiTables tables;
  tables.rsdp_address = config.base;
  tables.bytes.assign(dsdt_offset + dsdt.size(), '\0');
  tables.bytes.replace(0, 36, Rsdp(config.base + xsdt_offset));
  tables.bytes.replace(xsdt_offset, xsdt.size(), xsdt);
  tables.bytes.replace(fadt_offset, fadt.size(), fadt);
  tables.bytes.replace(madt_offset, madt.size(), madt);
  tables.bytes.replace(dsdt_offset, dsdt.size(), dsdt);
  for (size_t offset = 0; offset < tables.bytes.size();
       offset += abi::kPageBytes) {
    PageBytes& page = tables.pages[config.base + offset];
    page.fill(0);
    const size_t chunk =
        std::min<size_t>(abi::kPageBytes, tables.bytes.size() - offset);
    std::memcpy(page.data(), tables.bytes.data() + offset, chunk);
  }
  return tables;
}

}  // namespace faultline::vmm
