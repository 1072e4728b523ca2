// The ACPI tables of the PC that Linux guests get (pc_machine.h), HW-reduced
// as Firecracker's: RSDP (ACPI 2.0, 16-byte aligned so a scan of the BIOS
// area finds it too), XSDT, FADT (HW_REDUCED_ACPI, sleep control/status
// and reset registers at the ACPI power ports, no 8042, no VGA), MADT (one
// enabled local APIC per vCPU, the IOAPIC, LINT1 as NMI) and a DSDT with
// the PCI host bridge (bus 0, the 0xCF8 ports, I/O, the 32-bit window
// below the IOAPIC and the 64-bit window of the PCI memory device), the
// UART and the RTC with their ISA interrupts, and \_S5 for power off.
// Pure: laid out as pages at `base`.
#ifndef FAULTLINE_VMM_LOADER_ACPI_TABLES_H_
#define FAULTLINE_VMM_LOADER_ACPI_TABLES_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "vmm/loader/entry_state.h"

namespace faultline::vmm {

struct AcpiConfig {
  uint64_t base = 0;  // page-aligned, below 4 GiB (32-bit table pointers)
  uint32_t vcpu_count = 1;
};

struct AcpiTables {
  uint64_t rsdp_address = 0;
  std::string bytes;  // from `base`: RSDP, XSDT, FADT, MADT, DSDT
  std::map<uint64_t, PageBytes> pages;
};

absl::StatusOr<AcpiTables> BuildAcpiTables(const AcpiConfig& config);

// Sum of bytes mod 256: every ACPI table (and the RSDP's two ranges) sums
// to 0.
uint8_t AcpiChecksum(const std::string& bytes, size_t offset, size_t length);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_ACPI_TABLES_H_
