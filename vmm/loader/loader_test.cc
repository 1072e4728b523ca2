#include "vmm/loader/loader.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/guest_abi.h"
#include "vmm/loader/boot_state.h"
#include "vmm/loader/elf_image.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;
namespace abi = ::faultline::guest_abi;

struct SegmentSpec {
  uint64_t paddr;
  std::string data;
  uint64_t memsz;
  uint32_t type = PT_LOAD;
};

// A minimal static ELF64 executable: header, program headers, segment bytes.
std::string BuildElf(uint64_t entry, const std::vector<SegmentSpec>& segments) {
  Elf64_Ehdr header = {};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS64;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_machine = EM_X86_64;
  header.e_version = EV_CURRENT;
  header.e_entry = entry;
  header.e_phoff = sizeof(header);
  header.e_ehsize = sizeof(header);
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = segments.size();
  std::string file(reinterpret_cast<const char*>(&header), sizeof(header));
  uint64_t data_offset = sizeof(header) + segments.size() * sizeof(Elf64_Phdr);
  std::string data;
  for (const SegmentSpec& spec : segments) {
    Elf64_Phdr phdr = {};
    phdr.p_type = spec.type;
    phdr.p_offset = data_offset + data.size();
    phdr.p_vaddr = spec.paddr;
    phdr.p_paddr = spec.paddr;
    phdr.p_filesz = spec.data.size();
    phdr.p_memsz = spec.memsz;
    file.append(reinterpret_cast<const char*>(&phdr), sizeof(phdr));
    data += spec.data;
  }
  return file + data;
}

struct Installed {
  std::map<uint64_t, std::vector<uint8_t>> pages;  // empty vector: zero page
  PageSink Sink() {
    return [this](uint64_t address, const uint8_t* page) {
      if (pages.count(address) != 0) {
        return absl::AlreadyExistsError("page installed twice");
      }
      pages[address] = page == nullptr
                           ? std::vector<uint8_t>()
                           : std::vector<uint8_t>(page, page + 4096);
      return absl::OkStatus();
    };
  }
};

TEST(LoaderTest, InstallsSegmentsBssAndBootState) {
  const std::string text(0x1800, '\x90');
  const std::string data = "0123456789abcdef";
  auto image = ParseElf(
      BuildElf(0x100010, {{0x100000, text, 0x1800}, {0x102000, data, 0x3000}}));
  ASSERT_TRUE(image.ok()) << image.status();
  Installed installed;
  auto loaded =
      LoadPayload(*image, 16 << 20, 2, "mode=quick", installed.Sink());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->entry, 0x100010u);
  EXPECT_EQ(loaded->image_end, 0x105000u);

  EXPECT_EQ(installed.pages.at(0x100000)[0], 0x90);
  EXPECT_EQ(installed.pages.at(0x101000)[0x7FF], 0x90);
  EXPECT_EQ(installed.pages.at(0x101000)[0x800], 0);  // page tail zeroed
  EXPECT_EQ(installed.pages.at(0x102000)[15], 'f');
  EXPECT_EQ(installed.pages.at(0x102000)[16], 0);     // .bss in a data page
  EXPECT_TRUE(installed.pages.at(0x103000).empty());  // all-.bss: zero page
  EXPECT_TRUE(installed.pages.at(0x104000).empty());
  EXPECT_EQ(installed.pages.count(0x105000), 0u);  // left to fault

  abi::BootInfo info;
  std::memcpy(&info, installed.pages.at(abi::kBootInfoAddress).data(),
              sizeof(info));
  EXPECT_EQ(info.magic, abi::kBootInfoMagic);
  EXPECT_EQ(info.vcpu_count, 2u);
  EXPECT_EQ(info.ram_bytes, 16u << 20);
  EXPECT_EQ(info.image_end, 0x105000u);
  EXPECT_STREQ(info.args, "mode=quick");

  uint64_t entry;
  std::memcpy(&entry, installed.pages.at(abi::kGdtAddress).data() + 8, 8);
  EXPECT_EQ(entry, 0x00AF9A000000FFFFull);  // 64-bit code at selector 0x08
  std::memcpy(&entry, installed.pages.at(abi::kPageTableAddress).data(), 8);
  EXPECT_EQ(entry, (abi::kPageTableAddress + 0x1000) | 3);
  // The last page directory maps the top 2 MiB below 8 GiB.
  const uint64_t last_directory = abi::kPageTableAddress + 0x1000 * 9;
  std::memcpy(&entry, installed.pages.at(last_directory).data() + 511 * 8, 8);
  EXPECT_EQ(entry, (abi::kIdentityMapBytes - (2 << 20)) | 0x83);
  EXPECT_EQ(installed.pages.count(last_directory + 0x1000), 0u);
}

// A whole page of one segment is read from the file; one that a later
// segment also writes is composed, the later bytes over the earlier ones.
TEST(LoaderTest, SegmentsSharingAPageAreComposed) {
  const std::string file =
      std::string(0x2000, 'a') + std::string(0x800, 'b') + "cc";
  const std::vector<LoadSegment> segments = {
      {0x100000, 0, 0x2000, 0x2000},     // two whole pages of 'a'
      {0x101800, 0x2000, 0x800, 0x800},  // 'b' over the second's top half
      {0x102000, 0x2800, 2, 0x1000},     // "cc", then .bss
  };
  Installed installed;
  absl::StatusOr<InstalledSegments> done =
      InstallSegments(file, segments, installed.Sink());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->pages, 3u);
  EXPECT_EQ(done->image_end, 0x103000u);
  const std::vector<uint8_t>& first = installed.pages.at(0x100000);
  EXPECT_TRUE(std::all_of(first.begin(), first.end(),
                          [](uint8_t byte) { return byte == 'a'; }));
  const std::vector<uint8_t>& shared = installed.pages.at(0x101000);
  EXPECT_EQ(shared[0x7FF], 'a');
  EXPECT_EQ(shared[0x800], 'b');
  EXPECT_EQ(shared[0xFFF], 'b');
  const std::vector<uint8_t>& last = installed.pages.at(0x102000);
  EXPECT_EQ(last[1], 'c');
  EXPECT_EQ(last[2], 0);
}

TEST(LoaderTest, RefusesPayloadsThatDoNotFit) {
  Installed installed;
  auto low = ParseElf(BuildElf(0x10000, {{0x10000, "x", 1}}));
  ASSERT_TRUE(low.ok());
  EXPECT_THAT(std::string(LoadPayload(*low, 16 << 20, 1, "", installed.Sink())
                              .status()
                              .message()),
              HasSubstr("boot area"));
  auto big = ParseElf(BuildElf(0x100000, {{0x100000, "x", 32 << 20}}));
  ASSERT_TRUE(big.ok());
  EXPECT_THAT(std::string(CheckFitsGuest(*big, 16 << 20).message()),
              HasSubstr("does not fit"));
  auto overlap = ParseElf(
      BuildElf(0x100000, {{0x100000, "x", 0x2000}, {0x101000, "y", 0x1000}}));
  ASSERT_TRUE(overlap.ok());
  EXPECT_THAT(std::string(CheckFitsGuest(*overlap, 16 << 20).message()),
              HasSubstr("overlap"));
  auto stray_entry = ParseElf(BuildElf(0x200000, {{0x100000, "x", 1}}));
  ASSERT_TRUE(stray_entry.ok());
  EXPECT_THAT(std::string(CheckFitsGuest(*stray_entry, 16 << 20).message()),
              HasSubstr("entry point"));
  EXPECT_TRUE(installed.pages.empty());
}

TEST(ElfImageTest, RefusesMalformedFiles) {
  EXPECT_THAT(std::string(ParseElf("short").status().message()),
              HasSubstr("shorter"));
  std::string good = BuildElf(0x100000, {{0x100000, "abc", 3}});
  std::string bad_magic = good;
  bad_magic[1] = 'X';
  EXPECT_THAT(std::string(ParseElf(bad_magic).status().message()),
              HasSubstr("not an ELF"));
  std::string truncated = good.substr(0, good.size() - 2);
  EXPECT_THAT(std::string(ParseElf(truncated).status().message()),
              HasSubstr("outside the file"));
  EXPECT_THAT(std::string(ParseElf(BuildElf(0x100000, {{0x100000, "abc", 2}}))
                              .status()
                              .message()),
              HasSubstr("more file bytes"));
  EXPECT_THAT(
      std::string(ParseElf(BuildElf(0x100000, {{0x100000, "", 0, PT_DYNAMIC}}))
                      .status()
                      .message()),
      HasSubstr("dynamically linked"));
  EXPECT_THAT(std::string(ParseElf(BuildElf(0x100000, {})).status().message()),
              HasSubstr("no PT_LOAD"));
  EXPECT_FALSE(ReadElfFile("/nonexistent/payload").ok());
}

TEST(BootStateTest, LongModeRegisters) {
  kvm_regs regs = BootRegisters(0x100123, 3);
  EXPECT_EQ(regs.rip, 0x100123u);
  EXPECT_EQ(regs.rdi, abi::kBootInfoAddress);
  EXPECT_EQ(regs.rsi, 3u);
  EXPECT_EQ(regs.rflags, 2u);
  kvm_sregs sregs = {};
  SetLongModeSpecialRegisters(&sregs);
  EXPECT_EQ(sregs.cs.selector, abi::kCodeSelector);
  EXPECT_EQ(sregs.cs.l, 1);
  EXPECT_EQ(sregs.ss.selector, abi::kDataSelector);
  EXPECT_EQ(sregs.cr3, abi::kPageTableAddress);
  EXPECT_NE(sregs.cr0 & (1u << 31), 0u);
  EXPECT_EQ(sregs.efer & 0x500, 0x500u);
}

TEST(BootStateTest, RefusesLongArgsAndTooManyVcpus) {
  BootParameters parameters;
  parameters.ram_bytes = 16 << 20;
  parameters.args = std::string(abi::kMaxArgsBytes, 'a');
  EXPECT_FALSE(BuildBootPages(parameters).ok());
  parameters.args = "";
  parameters.vcpu_count = abi::kMaxVcpus + 1;
  EXPECT_FALSE(BuildBootPages(parameters).ok());
}

}  // namespace
}  // namespace faultline::vmm
