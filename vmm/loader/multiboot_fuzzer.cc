// Fuzzes the multiboot v1 loader: the header search, ELF32 or a.out-kludge
// kernels from arbitrary bytes, the multiboot_info with modules and command
// line, and installing it all. Input: the file, then (from the end) RAM
// size, module count and sizes and the command line length.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "vmm/loader/checked_sink.h"
#include "vmm/loader/multiboot.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kRamChoices[] = {2ull << 20, 16ull << 20, 64ull << 20};

}  // namespace
}  // namespace faultline::vmm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace faultline::vmm;
  FuzzedDataProvider input(data, size);
  const uint64_t ram = kRamChoices[input.ConsumeIntegralInRange(0, 2)];
  std::vector<KernelModule> modules(input.ConsumeIntegralInRange(0, 3));
  for (KernelModule& module : modules) {
    module.name = std::string(input.ConsumeIntegralInRange(0, 300), 'n');
    module.bytes = std::string(input.ConsumeIntegralInRange(0, 20000), 'm');
  }
  MultibootBootConfig config;
  config.kernel_name = "kernel";
  config.cmdline = std::string(input.ConsumeIntegralInRange(0, 70000), 'c');
  const std::string bytes = input.ConsumeRemainingBytesAsString();
  absl::StatusOr<std::optional<MultibootHeader>> header =
      FindMultibootHeader(bytes);
  if (!header.ok() || !header->has_value()) return 0;
  absl::StatusOr<MultibootKernel> kernel = ParseMultibootKernel(bytes);
  if (!kernel.ok()) return 0;
  MemoryLayout layout;
  if (!layout.Add({1, "ram", RegionKind::kRam, 0, ram}).ok()) std::abort();
  config.layout = &layout;
  CheckedSink sink(ram);
  absl::StatusOr<LoadedKernel> loaded =
      LoadMultiboot(*kernel, modules, config, sink.Sink());
  if (loaded.ok() && loaded->pages_installed != sink.pages()) std::abort();
  return 0;
}
