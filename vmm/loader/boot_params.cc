#include "vmm/loader/boot_params.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace faultline::vmm {
namespace {

constexpr size_t kE820EntryBytes = 20;

template <typename T>
void Put(PageBytes& page, size_t offset, T value) {
  std::memcpy(page.data() + offset, &value, sizeof(value));
}

}  // namespace

absl::StatusOr<PageBytes> BuildBootParams(const BzImage& image,
                                          const BootParamsInputs& inputs) {
  if (inputs.e820.empty() || inputs.e820.size() > kMaxE820Entries) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%u e820 entries: need 1 to %u", inputs.e820.size(), kMaxE820Entries));
  }
  const SetupHeader& header = image.header;
  if (header.end_offset > image.bytes.size() ||
      header.end_offset > kBootParamsE820Table) {
    return absl::InvalidArgumentError("the setup header does not fit");
  }
  PageBytes page;
  page.fill(0);
  std::memcpy(page.data() + kSetupHeaderOffset,
              image.bytes.data() + kSetupHeaderOffset,
              header.end_offset - kSetupHeaderOffset);
  page[kBootParamsTypeOfLoader] = kTypeOfLoaderUndefined;
  page[kBootParamsLoadflags] |= kCanUseHeap;
  Put<uint16_t>(page, kBootParamsHeapEndPtr, kHeapEnd);
  Put<uint32_t>(page, kBootParamsCmdLinePtr,
                static_cast<uint32_t>(inputs.cmdline_address));
  Put<uint32_t>(page, kBootParamsExtCmdLinePtr,
                static_cast<uint32_t>(inputs.cmdline_address >> 32));
  Put<uint32_t>(page, kBootParamsRamdiskImage,
                static_cast<uint32_t>(inputs.initrd_address));
  Put<uint32_t>(page, kBootParamsExtRamdiskImage,
                static_cast<uint32_t>(inputs.initrd_address >> 32));
  Put<uint32_t>(page, kBootParamsRamdiskSize,
                static_cast<uint32_t>(inputs.initrd_bytes));
  Put<uint32_t>(page, kBootParamsExtRamdiskSize,
                static_cast<uint32_t>(inputs.initrd_bytes >> 32));
  Put<uint64_t>(page, kBootParamsAcpiRsdp, inputs.rsdp_address);
  page[kBootParamsE820Entries] = static_cast<uint8_t>(inputs.e820.size());
  for (size_t i = 0; i < inputs.e820.size(); ++i) {
    const size_t at = kBootParamsE820Table + i * kE820EntryBytes;
    Put<uint64_t>(page, at, inputs.e820[i].address);
    Put<uint64_t>(page, at + 8, inputs.e820[i].size);
    Put<uint32_t>(page, at + 16, static_cast<uint32_t>(inputs.e820[i].type));
  }
  return page;
}

}  // namespace faultline::vmm
