// Prints the C header the guest driver module includes: the PCI memory
// device's IDs, registers, page states and reasons, with their values taken
// from proto/guest_abi.h, so the kernel's C never repeats them by hand.
#include <cstdint>
#include <cstdio>

#include "proto/guest_abi.h"

namespace {

namespace abi = ::faultline::guest_abi;

void Define(const char* name, uint64_t value) {
  std::printf("#define %s 0x%llx\n", name,
              static_cast<unsigned long long>(value));
}

}  // namespace

int main() {
  std::printf(
      "/* SPDX-License-Identifier: GPL-2.0 */\n"
      "/* Generated from proto/guest_abi.h by abi_header.cc: do not edit. */\n"
      "#ifndef FAULTLINE_MEM_ABI_H\n#define FAULTLINE_MEM_ABI_H\n\n");
  Define("FLM_VENDOR_ID", abi::kPciMemVendorId);
  Define("FLM_DEVICE_ID", abi::kPciMemDeviceId);
  Define("FLM_REGISTERS_BAR", abi::kPciMemRegistersBar);
  Define("FLM_WINDOW_BAR", abi::kPciMemWindowBar);
  Define("FLM_MAGIC", abi::kPciMemMagic);
  Define("FLM_REG_MAGIC", abi::kPciMemRegMagic);
  Define("FLM_REG_VERSION", abi::kPciMemRegVersion);
  Define("FLM_REG_FRAME_BYTES", abi::kPciMemRegFrameBytes);
  Define("FLM_REG_FRAME_COUNT", abi::kPciMemRegFrameCount);
  Define("FLM_REG_FEATURES", abi::kPciMemRegFeatures);
  Define("FLM_FEATURE_PAGE_EVENTS", abi::kPciMemFeaturePageEvents);
  Define("FLM_REG_CONTROL", abi::kPciMemRegControl);
  Define("FLM_CONTROL_EVENTS", abi::kPciMemControlEvents);
  Define("FLM_REG_STATUS", abi::kPciMemRegStatus);
  Define("FLM_STATUS_EVENTS", abi::kPciMemStatusEvents);
  Define("FLM_STATUS_OVERFLOW", abi::kPciMemStatusOverflow);
  Define("FLM_REG_PREPARE", abi::kPciMemRegPrepare);
  Define("FLM_REG_REVOKE_ACK", abi::kPciMemRegRevokeAck);
  Define("FLM_REG_STATE_SELECT", abi::kPciMemRegStateSelect);
  Define("FLM_REG_STATE", abi::kPciMemRegState);
  Define("FLM_REG_EVENT_HEAD", abi::kPciMemRegEventHead);
  Define("FLM_REG_EVENT_TAIL", abi::kPciMemRegEventTail);
  Define("FLM_REG_IGNORED_WRITES", abi::kPciMemRegIgnoredWrites);
  Define("FLM_EVENT_RING", abi::kPciMemEventRing);
  Define("FLM_EVENT_RING_ENTRIES", abi::kPciMemEventRingEntries);
  Define("FLM_PAGE_ABSENT", abi::kPciMemPageAbsent);
  Define("FLM_PAGE_AVAILABLE", abi::kPciMemPageAvailable);
  Define("FLM_PAGE_PENDING", abi::kPciMemPagePending);
  Define("FLM_PAGE_REVOKING", abi::kPciMemPageRevoking);
  Define("FLM_PAGE_REVOKED", abi::kPciMemPageRevoked);
  Define("FLM_PAGE_ERROR", abi::kPciMemPageError);
  Define("FLM_REASON_NONE", abi::kPciMemReasonNone);
  Define("FLM_REASON_ASKED", abi::kPciMemReasonAsked);
  Define("FLM_REASON_INTERRUPTED", abi::kPciMemReasonInterrupted);
  Define("FLM_REASON_BUSY", abi::kPciMemReasonBusy);
  Define("FLM_REASON_NOT_YET_AVAILABLE", abi::kPciMemReasonNotYetAvailable);
  Define("FLM_REASON_OVER_QUOTA", abi::kPciMemReasonOverQuota);
  Define("FLM_REASON_BROKER_UNREACHABLE", abi::kPciMemReasonBrokerUnreachable);
  Define("FLM_REASON_STORE_UNAVAILABLE", abi::kPciMemReasonStoreUnavailable);
  Define("FLM_REASON_BUS_ERROR", abi::kPciMemReasonBusError);
  Define("FLM_REASON_OUT_OF_MEMORY", abi::kPciMemReasonOutOfMemory);
  Define("FLM_REASON_DENIED", abi::kPciMemReasonDenied);
  Define("FLM_REASON_TIMED_OUT", abi::kPciMemReasonTimedOut);
  Define("FLM_REASON_HOST_FAILURE", abi::kPciMemReasonHostFailure);
  std::printf("\n#endif /* FAULTLINE_MEM_ABI_H */\n");
  return 0;
}
