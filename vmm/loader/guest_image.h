// The "load the guest image" step of the VM build, for every boot format:
// a payload (--guest, guest_abi.h), a Linux bzImage (--kernel, with one
// --initrd and --cmdline) or a multiboot kernel (--kernel, --initrd files
// as its modules). ReadGuestImage reads and checks it before any memory or
// broker session exists, including a dry run of its placement in RAM;
// LoadGuestImage installs it. Kernels start on vCPU 0; payloads on all.
#ifndef FAULTLINE_VMM_LOADER_GUEST_IMAGE_H_
#define FAULTLINE_VMM_LOADER_GUEST_IMAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vmm/loader/bzimage.h"
#include "vmm/loader/elf_image.h"
#include "vmm/loader/entry_state.h"
#include "vmm/loader/kernel_image.h"
#include "vmm/loader/loader.h"
#include "vmm/loader/multiboot.h"
#include "vmm/memory/memory_layout.h"

namespace faultline::vmm {

enum class BootFormat { kPayload, kLinux, kMultiboot };
const char* BootFormatName(BootFormat format);

// What Linux gets without --cmdline: the console on the UART, reboot through
// the i8042's reset command (reboot=t's triple fault can reset a nested TCG
// test host as a whole), reboot on panic.
inline constexpr char kDefaultLinuxCmdline[] =
    "console=ttyS0 reboot=k panic=-1";

struct GuestImageSource {
  std::string payload_path;          // --guest
  std::string kernel_path;           // --kernel
  std::vector<std::string> initrds;  // --initrd: "PATH" or "PATH ARGS"
  std::string cmdline;               // --cmdline; empty: the format's default
};

struct GuestImage {
  BootFormat format = BootFormat::kPayload;
  ElfImage payload;
  BzImage linux_kernel;
  MultibootKernel multiboot;
  std::vector<KernelModule> modules;  // Linux: the initrd; multiboot: all
  std::string kernel_path;
  std::string cmdline;
};

absl::StatusOr<GuestImage> ReadGuestImage(const GuestImageSource& source,
                                          uint64_t ram_bytes,
                                          uint32_t vcpu_count);

struct LoadContext {
  const MemoryLayout* layout = nullptr;
  uint64_t ram_bytes = 0;
  uint32_t vcpu_count = 1;
  std::string payload_args;  // BootInfo.args of a payload
};

struct LoadedImage {
  BootFormat format = BootFormat::kPayload;
  uint64_t payload_entry = 0;  // payloads: every vCPU starts here
  EntryState boot_vcpu;        // kernels: vCPU 0
  uint64_t pages_installed = 0;
  std::string description;
};

absl::StatusOr<LoadedImage> LoadGuestImage(const GuestImage& image,
                                           const LoadContext& context,
                                           const PageSink& sink);

// How vCPU `vcpu_id` enters the guest, or nullopt when it waits in KVM for
// the guest's INIT/SIPI (a kernel's other vCPUs).
std::optional<EntryState> VcpuEntry(const LoadedImage& loaded,
                                    uint32_t vcpu_id);

}  // namespace faultline::vmm

#endif  // FAULTLINE_VMM_LOADER_GUEST_IMAGE_H_
