// The contract between the VMM and guest payloads: memory layout, boot state,
// ports and the PCI memory device. This header is the one place it is written
// down; guest-drivers/README.md explains it in prose. Freestanding.
//
// Boot state. The VMM loads the payload's ELF PT_LOAD segments at their
// physical addresses and starts *every* vCPU at the ELF entry point at once,
// already in 64-bit long mode:
//   - paging on, [0, kIdentityMapBytes) identity-mapped with 2 MiB pages,
//     present, writable, executable, kernel-only;
//   - CS = kCodeSelector (64-bit), DS/ES/SS/FS/GS = kDataSelector;
//   - RFLAGS = 0x2 (interrupts off), RSP = 0 (the runtime sets its own stack);
//   - RDI = kBootInfoAddress, RSI = the vCPU's id (0 .. vcpu_count - 1).
// The loader installs the payload image (with .bss zeroed), the boot info,
// GDT and page tables itself; every other RAM page, all of [image_end,
// ram_bytes), is left to fault and be served by the broker.
#ifndef FAULTLINE_PROTO_GUEST_ABI_H_
#define FAULTLINE_PROTO_GUEST_ABI_H_

#include <stdint.h>

#include "proto/faultline/v1/wire.h"

namespace faultline::guest_abi {

// --- Guest-physical memory layout ---------------------------------------
using ::faultline::v1::wire::kPageBytes;
inline constexpr uint64_t kBootInfoAddress = 0x1000;
inline constexpr uint64_t kGdtAddress = 0x2000;
// PML4 here, the PDPT one page above, then one page directory per GiB.
inline constexpr uint64_t kPageTableAddress = 0x3000;
inline constexpr uint64_t kIdentityMapBytes = 8ull << 30;
// Payloads link at or above this address and below kMaxRamBytes.
inline constexpr uint64_t kPayloadMinAddress = 0x100000;
// RAM runs from 0 to BootInfo::ram_bytes; the PCI hole starts here.
inline constexpr uint64_t kMaxRamBytes = 0xC0000000;
// Where the VMM places the PCI memory device's BARs (the guest may read them
// from configuration space; moving them is not supported and is ignored).
inline constexpr uint64_t kPciMemRegistersBarAddress = 0xC0000000;
inline constexpr uint64_t kPciMemRegistersBarBytes = 0x1000;
inline constexpr uint64_t kPciMemWindowBarAddress = 0x100000000;
inline constexpr uint64_t kMaxPciMemWindowBytes = 4ull << 30;

inline constexpr uint16_t kCodeSelector = 0x08;
inline constexpr uint16_t kDataSelector = 0x10;

// --- Boot information at kBootInfoAddress --------------------------------
inline constexpr uint64_t kBootInfoMagic = 0x31544F4F42544C46ull;  // "FLTBOOT1"
inline constexpr uint32_t kBootInfoVersion = 1;
inline constexpr uint32_t kMaxArgsBytes = 1024;
inline constexpr uint32_t kMaxVcpus = 16;

struct BootInfo {
  uint64_t magic;       // kBootInfoMagic
  uint32_t version;     // kBootInfoVersion
  uint32_t vcpu_count;  // vCPUs started, all at the entry point
  uint64_t ram_bytes;   // guest RAM is [0, ram_bytes)
  uint64_t image_end;   // page-aligned end of the payload image; RAM above
                        // it is served by the broker
  // The VMM's --guest-args, NUL-terminated: space-separated key=value pairs.
  // When RAM is served by a pattern source the VMM appends pattern_seed=N.
  char args[kMaxArgsBytes];
};
static_assert(sizeof(BootInfo) == 32 + kMaxArgsBytes, "BootInfo layout");

// --- I/O ports ---------------------------------------------------------------
inline constexpr uint16_t kSerialPort = 0x3F8;  // 8250-compatible UART, COM1
// A 32-bit OUT here ends the run; the value becomes the VMM's exit status.
inline constexpr uint16_t kDebugExitPort = 0xF4;
inline constexpr uint16_t kPciConfigAddressPort = 0xCF8;
inline constexpr uint16_t kPciConfigDataPort = 0xCFC;

// --- PCI
// ----------------------------------------------------------------------- Bus
// 0: the host bridge at device 0, the PCI memory device at device 1.
inline constexpr uint16_t kHostBridgeVendorId = 0xFA17;
inline constexpr uint16_t kHostBridgeDeviceId = 0x0000;
inline constexpr uint8_t kPciMemDeviceSlot = 1;
// An ID pair from no vendor's registered range, kept for faultline's device.
inline constexpr uint16_t kPciMemVendorId = 0xFA17;
inline constexpr uint16_t kPciMemDeviceId = 0x0001;
// BAR0: 32-bit memory BAR, the registers below. BAR2/BAR3: 64-bit
// prefetchable memory BAR, the device memory window, one frame per page.
inline constexpr uint8_t kPciMemRegistersBar = 0;
inline constexpr uint8_t kPciMemWindowBar = 2;

// Registers in BAR0 (offsets). Reads of other offsets return 0; writes to
// read-only or unknown registers are ignored (and counted by the VMM).
inline constexpr uint32_t kPciMemRegMagic = 0x00;       // u32, kPciMemMagic
inline constexpr uint32_t kPciMemRegVersion = 0x04;     // u32, 1
inline constexpr uint32_t kPciMemRegFrameBytes = 0x08;  // u32, 4096
inline constexpr uint32_t kPciMemRegFrameCount = 0x10;  // u64, window pages
inline constexpr uint32_t kPciMemRegScratch = 0x18;     // u32, read/write
inline constexpr uint32_t kPciMemMagic = 0x4D544C46;    // "FLTM"

}  // namespace faultline::guest_abi

#endif  // FAULTLINE_PROTO_GUEST_ABI_H_
