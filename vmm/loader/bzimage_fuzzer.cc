// Fuzzes the Linux boot protocol: a bzImage's setup header from arbitrary
// bytes, the placement of kernel, decompression area, initrd and command
// line, boot_params and installing it all. Input: the file, then (from the
// end) RAM size, vCPUs, initrd size and command line length.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>

#include "vmm/loader/bzimage.h"
#include "vmm/loader/checked_sink.h"
#include "vmm/loader/linux_loader.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kRamChoices[] = {16ull << 20, 64ull << 20, 256ull << 20};

}  // namespace
}  // namespace faultline::vmm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace faultline::vmm;
  FuzzedDataProvider input(data, size);
  const uint64_t ram = kRamChoices[input.ConsumeIntegralInRange(0, 2)];
  LinuxBootConfig config;
  config.vcpu_count = input.ConsumeIntegralInRange<uint32_t>(1, 8);
  const size_t initrd_bytes = input.ConsumeIntegralInRange<size_t>(0, 3 << 20);
  config.cmdline =
      std::string(input.ConsumeIntegralInRange<size_t>(0, 5000), 'c');
  absl::StatusOr<BzImage> kernel =
      ParseBzImage(input.ConsumeRemainingBytesAsString());
  if (!kernel.ok()) return 0;
  (void)DecompressAddress(kernel->header);
  MemoryLayout layout;
  if (!layout.Add({1, "ram", RegionKind::kRam, 0, ram}).ok()) std::abort();
  config.layout = &layout;
  // Kept between inputs: sizes change by resizing, which fills only what
  // grew (a fresh 3 MiB string per input cost more than the loader).
  static KernelModule initrd{"initrd", ""};
  initrd.bytes.resize(initrd_bytes, 'i');
  CheckedSink sink(ram);
  absl::StatusOr<LoadedKernel> loaded = LoadLinux(
      *kernel, initrd_bytes == 0 ? nullptr : &initrd, config, sink.Sink());
  if (loaded.ok() && loaded->pages_installed != sink.pages()) std::abort();
  // Refused means nothing was installed: every check comes first.
  if (!loaded.ok() && sink.pages() != 0) std::abort();
  return 0;
}
