// Fuzzes the payload loader: an ELF64 (and the ELF32 parser of multiboot
// kernels) from arbitrary bytes, its fit in RAM, and installing it with its
// boot pages. Input: the file, then (from the end) RAM size and vCPUs.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>

#include "vmm/loader/checked_sink.h"
#include "vmm/loader/elf_image.h"
#include "vmm/loader/loader.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kRamChoices[] = {2ull << 20, 16ull << 20, 64ull << 20};

void Load(std::string bytes, uint64_t ram_bytes, uint32_t vcpus) {
  (void)ParseElf32(bytes);
  absl::StatusOr<ElfImage> image = ParseElf(std::move(bytes));
  if (!image.ok() || !CheckFitsGuest(*image, ram_bytes).ok()) return;
  CheckedSink sink(ram_bytes);
  absl::StatusOr<LoadedPayload> loaded =
      LoadPayload(*image, ram_bytes, vcpus, "fuzz", sink.Sink());
  // A payload that fits must load, and its count must be what went in.
  if (!loaded.ok() || loaded->pages_installed != sink.pages()) std::abort();
}

}  // namespace
}  // namespace faultline::vmm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const uint64_t ram =
      faultline::vmm::kRamChoices[input.ConsumeIntegralInRange(0, 2)];
  const uint32_t vcpus = input.ConsumeIntegralInRange<uint32_t>(1, 8);
  faultline::vmm::Load(input.ConsumeRemainingBytesAsString(), ram, vcpus);
  return 0;
}
