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

// Configuration space: no INTx (interrupt pin 0). When the VMM can deliver
// MSIs, the status register's capability bit is set and the capability list
// holds one MSI capability at kPciMemMsiCapability: one vector, 64-bit
// address, per-vector masking. The device signals only while MSI is enabled
// and bus mastering is on; a signal while the vector is masked sets its
// pending bit and is sent when it is unmasked.
inline constexpr uint8_t kPciMemMsiCapability = 0x40;

// Registers in BAR0 (offsets). Reads of any width return the registers'
// little-endian bytes, and 0 for offsets that hold none. Writes to read-only
// or unknown registers are ignored and counted (kPciMemRegIgnoredWrites).
//
// Register set version 1: the device and its window.
inline constexpr uint32_t kPciMemRegMagic = 0x00;       // u32, kPciMemMagic
inline constexpr uint32_t kPciMemRegVersion = 0x04;     // u32, see below
inline constexpr uint32_t kPciMemRegFrameBytes = 0x08;  // u32, 4096
inline constexpr uint32_t kPciMemRegFrameCount = 0x10;  // u64, window pages
inline constexpr uint32_t kPciMemRegScratch = 0x18;     // u32, read/write
inline constexpr uint32_t kPciMemMagic = 0x4D544C46;    // "FLTM"

// Register set version 2 keeps every version 1 register as it was and adds
// page events: the guest learns, page by page, whether a frame is mapped in
// the window, why not, and when it is again, and it can ask for a page
// without a vCPU waiting for the broker. A guest that ignores them sees
// version 1 behaviour (a touch of an unmapped page stops the vCPU until the
// broker answers). Version 2 registers take aligned 32-bit writes only;
// other writes to them are ignored and counted.
inline constexpr uint32_t kPciMemRegisterVersion = 2;

// u32, read-only: what the VMM offers. kPciMemFeaturePageEvents: page states,
// the event ring, PREPARE and REVOKE_ACK work; without it (no fault path
// attached to the device) those registers read 0 and ignore writes.
inline constexpr uint32_t kPciMemRegFeatures = 0x20;
inline constexpr uint32_t kPciMemFeaturePageEvents = 1u << 0;
// u32, read/write. kPciMemControlEvents turns events on: setting it empties
// the ring (HEAD = TAIL = 0) and clears STATUS; clearing it stops events and
// releases every REVOKING page as if the guest had acknowledged it. Other
// bits are reserved: a write setting one is ignored and counted.
inline constexpr uint32_t kPciMemRegControl = 0x24;
inline constexpr uint32_t kPciMemControlEvents = 1u << 0;
// u32, read, write 1 to clear. kPciMemStatusEvents: set whenever an event is
// appended (or dropped); the device sends its MSI when this bit goes from 0
// to 1, so a driver clears it first, then reads HEAD and consumes entries:
// an event appended meanwhile interrupts again. kPciMemStatusOverflow: the
// ring was full and events were dropped; every page's state must be read
// again through STATE before the bit is cleared.
inline constexpr uint32_t kPciMemRegStatus = 0x28;
inline constexpr uint32_t kPciMemStatusEvents = 1u << 0;
inline constexpr uint32_t kPciMemStatusOverflow = 1u << 1;
// u32, write-only: a page index the guest wants mapped. For an ABSENT,
// REVOKED or ERROR page the VMM asks the broker without any vCPU waiting
// (the page goes PENDING, reason ASKED; a frame makes it AVAILABLE, each
// retry answer PENDING with its reason, an error answer ERROR with its kind,
// and asking past the VMM's fault deadline or retry budget ERROR with
// TIMED_OUT: none of them stops the VM, as no vCPU waits); for an
// AVAILABLE page the device appends an AVAILABLE event again (the guest's
// view was stale); for a PENDING or REVOKING page an event follows anyway. An index outside the
// window, or a write while events are off, is ignored and counted.
inline constexpr uint32_t kPciMemRegPrepare = 0x2C;
// u32, write-only: the guest has removed every mapping it made of this
// REVOKING page; the VMM unmaps the frame (REVOKED). Any other page is
// ignored and counted.
inline constexpr uint32_t kPciMemRegRevokeAck = 0x30;
// u32, read/write: the page STATE reports. Two registers, so a guest that
// reads from several CPUs serialises the pair itself.
inline constexpr uint32_t kPciMemRegStateSelect = 0x34;
// u32, read-only: the selected page's state (bits 0-7) and reason (bits
// 8-15), or all ones when STATE_SELECT is outside the window.
inline constexpr uint32_t kPciMemRegState = 0x38;
// u32, read-only: events appended since events were turned on (mod 2^32).
inline constexpr uint32_t kPciMemRegEventHead = 0x3C;
// u32, read/write: events the guest has consumed (mod 2^32). Entries
// TAIL .. HEAD-1 are valid; a write outside [TAIL, HEAD] is ignored and
// counted.
inline constexpr uint32_t kPciMemRegEventTail = 0x40;
// u32, read-only: kPciMemEventRingEntries.
inline constexpr uint32_t kPciMemRegEventRingEntries = 0x44;
// u32, read-only: writes the device ignored since it was created
// (saturating), for drivers and tests to report.
inline constexpr uint32_t kPciMemRegIgnoredWrites = 0x48;
// The event ring, read-only: event i is the u64 at
// kPciMemEventRing + 8 * (i % kPciMemEventRingEntries); one 64-bit read
// returns it whole. Page index in bits 0-31, the page's new state in bits
// 32-39 and its reason in bits 40-47; bits 48-63 are zero.
inline constexpr uint32_t kPciMemEventRing = 0x800;
inline constexpr uint32_t kPciMemEventRingEntries = 256;

// Page states, as STATE and events report them.
// No frame is mapped and none was asked for: the initial state. A touch stops
// the vCPU while the VMM asks the broker (version 1 behaviour).
inline constexpr uint8_t kPciMemPageAbsent = 0;
// A frame is mapped; accesses stay inside the guest.
inline constexpr uint8_t kPciMemPageAvailable = 1;
// The VMM is asking the broker for a frame; the reason says why there is
// none yet (ASKED: no answer so far; a broker retry reason; or
// BROKER_UNREACHABLE while the VMM reconnects). Each retry answer appends
// an event, even when state and reason stay the same; other reports append
// one only when they change the page's state or reason.
inline constexpr uint8_t kPciMemPagePending = 2;
// The broker is taking the frame back. It stays mapped until the guest
// writes the page to REVOKE_ACK (after removing its own mappings of it) or
// the VMM stops waiting for that (after 5 s), then the page is REVOKED.
inline constexpr uint8_t kPciMemPageRevoking = 3;
// The frame was taken back; a touch asks again, as for ABSENT.
inline constexpr uint8_t kPciMemPageRevoked = 4;
// The last ask ended in an error (the reason); PREPARE asks again.
inline constexpr uint8_t kPciMemPageError = 5;

// Reasons. The broker's retry reasons and error kinds keep their order from
// protocol v1 (RetryReason, ErrorKind).
inline constexpr uint8_t kPciMemReasonNone = 0;
inline constexpr uint8_t kPciMemReasonAsked = 1;
inline constexpr uint8_t kPciMemReasonInterrupted = 2;
inline constexpr uint8_t kPciMemReasonBusy = 3;
inline constexpr uint8_t kPciMemReasonNotYetAvailable = 4;
inline constexpr uint8_t kPciMemReasonOverQuota = 5;
inline constexpr uint8_t kPciMemReasonBrokerUnreachable = 6;
// The broker's page store could not be read now (a node down or failing
// over): RETRY_REASON_STORE_UNAVAILABLE, after the VMM's own reason above.
inline constexpr uint8_t kPciMemReasonStoreUnavailable = 7;
inline constexpr uint8_t kPciMemReasonBusError = 16;
inline constexpr uint8_t kPciMemReasonOutOfMemory = 17;
inline constexpr uint8_t kPciMemReasonDenied = 18;
// The VMM gave up asking: its fault deadline or retry budget ran out.
inline constexpr uint8_t kPciMemReasonTimedOut = 19;
// The VMM could not map the frame it was given.
inline constexpr uint8_t kPciMemReasonHostFailure = 20;

// The mark a guest test leaves on a device frame for the host to read back
// (brokerctl frames read): "GUEST" in the top five bytes and the frame
// number below, in the frame's last word.
inline constexpr uint64_t kPciMemSignatureBase = 0x4755455354000000ull;
inline constexpr uint64_t kPciMemSignatureWord = 511;
constexpr uint64_t PciMemFrameSignature(uint64_t frame) {
  return kPciMemSignatureBase | frame;
}

// STATE's value and an event entry, from their parts.
constexpr uint32_t PciMemPageStateValue(uint8_t state, uint8_t reason) {
  return state | (uint32_t{reason} << 8);
}
constexpr uint64_t PciMemEvent(uint32_t page, uint8_t state, uint8_t reason) {
  return page | (uint64_t{PciMemPageStateValue(state, reason)} << 32);
}

}  // namespace faultline::guest_abi

#endif  // FAULTLINE_PROTO_GUEST_ABI_H_
