// The PC that the VMM presents to kernel guests: a Linux bzImage or a
// multiboot test kernel given to `vmm --kernel` (payloads given to --guest
// see guest_abi.h instead). Ports, interrupt lines and addresses that both
// the VMM and such guests rely on are written down here, once. Freestanding.
//
// What a kernel guest finds:
//   - 16550A UART at 0x3F8 (guest_abi.h kSerialPort) on ISA IRQ 4;
//   - in-kernel PIC, IOAPIC (kIoApicAddress) and local APICs
//     (kLocalApicAddress, APIC id = vCPU index), PIT;
//   - CMOS RTC at 0x70/0x71; i8042 at 0x60/0x64 (its reset line ends the
//     run); PCI configuration at 0xCF8/0xCFC as for payloads;
//   - QEMU's fw_cfg at 0x510/0x511;
//   - for Linux, HW-reduced ACPI (RSDP in the BIOS area and in
//     boot_params): FADT with the sleep control/status and reset registers
//     below, MADT with every vCPU and the IOAPIC, and a DSDT with the PCI
//     host bridge, the UART and RTC with their interrupts, and \_S5 for
//     power off.
//
// Port 0xF4 by boot format:
//   - payloads: a 32-bit OUT ends the run with the value's low 8 bits
//     (guest_abi.h);
//   - multiboot kernels: QEMU's isa-debug-exit: a write of v ends the run
//     with status (v << 1) | 1, as `qemu -device isa-debug-exit` gives it;
//   - Linux: a status latch: a 1-byte OUT records the status the run ends
//     with when the guest then reboots or powers off (0 for a power off
//     without one). It ends nothing by itself, so a guest can report its
//     status and still shut down the ordinary way.
#ifndef FAULTLINE_PROTO_PC_MACHINE_H_
#define FAULTLINE_PROTO_PC_MACHINE_H_

#include <stdint.h>

namespace faultline::pc_machine {

// --- Interrupts (ISA IRQ n is GSI n and IOAPIC pin n) ---------------------
inline constexpr uint32_t kKeyboardIrq = 1;
inline constexpr uint32_t kSerialIrq = 4;
inline constexpr uint32_t kRtcIrq = 8;  // described in the DSDT, never raised
inline constexpr uint32_t kIsaIrqCount = 16;
inline constexpr uint64_t kIoApicAddress = 0xFEC00000;
inline constexpr uint64_t kLocalApicAddress = 0xFEE00000;

// --- Ports ------------------------------------------------------------------
inline constexpr uint16_t kCmosIndexPort = 0x70;
inline constexpr uint16_t kCmosDataPort = 0x71;
inline constexpr uint16_t kI8042DataPort = 0x60;
inline constexpr uint16_t kI8042CommandPort = 0x64;
inline constexpr uint16_t kDebugExitPort = 0xF4;
inline constexpr uint16_t kFwCfgSelectorPort = 0x510;
inline constexpr uint16_t kFwCfgDataPort = 0x511;
inline constexpr uint16_t kFwCfgSignatureKey = 0x00;  // reads "QEMU"
inline constexpr uint16_t kFwCfgCpuCountKey = 0x05;   // u16, little-endian

// HW-reduced ACPI registers (FADT SLEEP_CONTROL_REG, SLEEP_STATUS_REG,
// RESET_REG), 8-bit system I/O. Power off: write (kAcpiS5SleepType << 2) |
// kAcpiSleepEnable to the control register; reset: kAcpiResetValue.
inline constexpr uint16_t kAcpiSleepControlPort = 0x600;
inline constexpr uint16_t kAcpiSleepStatusPort = 0x601;
inline constexpr uint16_t kAcpiResetPort = 0x602;
inline constexpr uint8_t kAcpiResetValue = 0x01;
inline constexpr uint8_t kAcpiS5SleepType = 5;  // \_S5 in the DSDT
inline constexpr uint8_t kAcpiSleepEnable = 0x20;
inline constexpr uint8_t kAcpiSleepTypeShift = 2;
inline constexpr uint8_t kAcpiSleepTypeMask = 0x1C;

// --- QEMU's isa-debug-exit (multiboot kernels) -----------------------------
inline constexpr uint32_t QemuDebugExitStatus(uint32_t value) {
  return ((value << 1) | 1) & 0xFF;
}

}  // namespace faultline::pc_machine

#endif  // FAULTLINE_PROTO_PC_MACHINE_H_
