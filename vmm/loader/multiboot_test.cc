#include "vmm/loader/multiboot.h"

#include <elf.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faultline::vmm {
namespace {

using ::testing::HasSubstr;

std::string Words(const std::vector<uint32_t>& words) {
  std::string out(words.size() * 4, '\0');
  std::memcpy(out.data(), words.data(), out.size());
  return out;
}

std::string Header(uint32_t flags) {
  return Words({kMultibootHeaderMagic, flags,
                static_cast<uint32_t>(-(kMultibootHeaderMagic + flags))});
}

// An ELF32 i386 executable with one PT_LOAD of `text` at `paddr`.
std::string Elf32(uint32_t paddr, const std::string& text, uint32_t memsz,
                  uint32_t entry) {
  Elf32_Ehdr header = {};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = ELFCLASS32;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_EXEC;
  header.e_machine = EM_386;
  header.e_version = EV_CURRENT;
  header.e_entry = entry;
  header.e_phoff = sizeof(header);
  header.e_ehsize = sizeof(header);
  header.e_phentsize = sizeof(Elf32_Phdr);
  header.e_phnum = 1;
  Elf32_Phdr phdr = {};
  phdr.p_type = PT_LOAD;
  phdr.p_offset = sizeof(header) + sizeof(phdr);
  phdr.p_vaddr = paddr;
  phdr.p_paddr = paddr;
  phdr.p_filesz = text.size();
  phdr.p_memsz = memsz;
  return std::string(reinterpret_cast<const char*>(&header), sizeof(header)) +
         std::string(reinterpret_cast<const char*>(&phdr), sizeof(phdr)) + text;
}

MemoryLayout Ram(uint64_t bytes) {
  MemoryLayout layout;
  EXPECT_TRUE(layout.Add({1, "ram", RegionKind::kRam, 0, bytes}).ok());
  return layout;
}

struct Recorder {
  std::map<uint64_t, std::string> pages;
  PageSink Sink() {
    return [this](uint64_t address, const uint8_t* page) {
      if (pages.count(address) != 0) return absl::AlreadyExistsError("twice");
      pages[address] =
          page == nullptr
              ? std::string(4096, '\0')
              : std::string(reinterpret_cast<const char*>(page), 4096);
      return absl::OkStatus();
    };
  }
  uint32_t Word(uint64_t address) {
    const std::string& page = pages.at(address & ~0xFFFull);
    uint32_t value;
    std::memcpy(&value, page.data() + (address & 0xFFF), 4);
    return value;
  }
  std::string String(uint64_t address) {
    const std::string& page = pages.at(address & ~0xFFFull);
    return std::string(page.data() + (address & 0xFFF));
  }
};

TEST(MultibootTest, FindsAndChecksTheHeader) {
  const std::string kernel =
      Elf32(0x100000, Header(0x3) + "code", 0x2000, 0x10000C);
  auto header = FindMultibootHeader(kernel);
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_TRUE(header->has_value());
  EXPECT_EQ((*header)->offset, sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr));
  EXPECT_FALSE(FindMultibootHeader(std::string(9000, 'x'))->has_value());

  std::string bad_sum = Words({kMultibootHeaderMagic, 0, 1});
  EXPECT_THAT(std::string(FindMultibootHeader(bad_sum).status().message()),
              HasSubstr("checksum"));
  EXPECT_THAT(std::string(FindMultibootHeader(Header(0x8)).status().message()),
              HasSubstr("features"));
  // Past the first 8 KiB it is not looked for.
  EXPECT_FALSE(
      FindMultibootHeader(std::string(8192, '\0') + Header(0))->has_value());
}

TEST(MultibootTest, Elf32OnlyUnlessTheAoutKludge) {
  EXPECT_THAT(std::string(ParseMultibootKernel(Header(0) + std::string(64, 'x'))
                              .status()
                              .message()),
              HasSubstr("ELF32"));
  // The a.out kludge: the file from the header on, at header_addr.
  std::string flat = Header(kMultibootAoutKludge) +
                     Words({0x200000, 0x200000, 0, 0x203000, 0x200020}) +
                     "entry";
  auto kernel = ParseMultibootKernel(flat);
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  ASSERT_EQ(kernel->segments.size(), 1u);
  EXPECT_EQ(kernel->segments[0].physical_address, 0x200000u);
  EXPECT_EQ(kernel->segments[0].file_bytes, flat.size());
  EXPECT_EQ(kernel->segments[0].memory_bytes, 0x3000u);
  EXPECT_EQ(kernel->entry, 0x200020u);
  std::string broken = Header(kMultibootAoutKludge) +
                       Words({0x200000, 0x300000, 0, 0, 0x200020});
  EXPECT_FALSE(ParseMultibootKernel(broken).ok()) << "load_addr past header";
}

TEST(MultibootTest, LoadsAsQemuDoes) {
  auto kernel = ParseMultibootKernel(
      Elf32(0x100000, Header(0x3) + std::string(5000, 'k'), 0x3000, 0x100010));
  ASSERT_TRUE(kernel.ok()) << kernel.status();
  const MemoryLayout layout = Ram(32 << 20);
  std::vector<KernelModule> modules = {{"/tmp/mod.bin x=1", "module-bytes"},
                                       {"second", std::string(5000, 's')}};
  MultibootBootConfig config;
  config.layout = &layout;
  config.kernel_name = "/k/kernel.elf";
  config.cmdline = "answer=42";
  Recorder recorder;
  auto loaded = LoadMultiboot(*kernel, modules, config, recorder.Sink());
  ASSERT_TRUE(loaded.ok()) << loaded.status();

  const EntryState& entry = loaded->boot_vcpu;
  EXPECT_EQ(entry.mode, CpuMode::kProtectedMode);
  EXPECT_EQ(entry.rip, 0x100010u);
  EXPECT_EQ(entry.rax, 0x2BADB002u);
  EXPECT_EQ(entry.rbx, kMultibootInfoAddress);
  EXPECT_EQ(entry.cr0 & 0x80000001u, 1u) << "protected mode, paging off";
  EXPECT_EQ(entry.segments.code_selector, 0x10);

  const uint64_t info = kMultibootInfoAddress;
  EXPECT_EQ(recorder.Word(info) &
                (kInfoMemory | kInfoCmdline | kInfoModules | kInfoMemoryMap),
            kInfoMemory | kInfoCmdline | kInfoModules | kInfoMemoryMap);
  EXPECT_EQ(recorder.Word(info + 4), 640u);
  EXPECT_EQ(recorder.Word(info + 8), (31u << 20) / 1024);
  EXPECT_EQ(recorder.String(recorder.Word(info + 16)),
            "/k/kernel.elf answer=42");
  ASSERT_EQ(recorder.Word(info + 20), 2u);
  const uint32_t list = recorder.Word(info + 24);
  const uint32_t first = recorder.Word(list);
  EXPECT_EQ(first, 0x103000u) << "after the kernel, page-aligned";
  EXPECT_EQ(recorder.Word(list + 4), first + 12);
  EXPECT_EQ(recorder.String(recorder.Word(list + 8)), "/tmp/mod.bin x=1");
  EXPECT_EQ(recorder.String(first), "module-bytes");
  EXPECT_EQ(recorder.Word(list + 16), 0x104000u);
  EXPECT_GT(recorder.Word(info + 44), 0u) << "a memory map";
  EXPECT_EQ(recorder.Word(info + 48), info + 88);
  // The first map entry: size 20, RAM [0, 0x9FC00).
  EXPECT_EQ(recorder.Word(info + 88), 20u);
  EXPECT_EQ(recorder.Word(info + 88 + 12), 0x9FC00u);
  EXPECT_EQ(recorder.Word(info + 88 + 20), 1u);
  EXPECT_EQ(recorder.pages.count(0x102000), 1u) << ".bss page";
  EXPECT_EQ(loaded->pages_installed, recorder.pages.size());
}

TEST(MultibootTest, RefusesWhatDoesNotFitAndInstallsNothing) {
  const MemoryLayout layout = Ram(4 << 20);
  MultibootBootConfig config;
  config.layout = &layout;
  Recorder recorder;
  auto past_ram = ParseMultibootKernel(
      Elf32(0x300000, Header(0) + "x", 0x200000, 0x300000));
  ASSERT_TRUE(past_ram.ok());
  EXPECT_THAT(std::string(LoadMultiboot(*past_ram, {}, config, recorder.Sink())
                              .status()
                              .message()),
              HasSubstr("not inside RAM"));
  auto low =
      ParseMultibootKernel(Elf32(0x8000, Header(0) + "x", 0x100, 0x8000));
  ASSERT_TRUE(low.ok());
  EXPECT_THAT(
      std::string(
          LoadMultiboot(*low, {}, config, recorder.Sink()).status().message()),
      HasSubstr("boot area"));
  auto fine =
      ParseMultibootKernel(Elf32(0x100000, Header(0) + "x", 0x1000, 0x100000));
  ASSERT_TRUE(fine.ok());
  std::vector<KernelModule> huge = {{"huge", std::string(4 << 20, 'h')}};
  EXPECT_THAT(std::string(LoadMultiboot(*fine, huge, config, recorder.Sink())
                              .status()
                              .message()),
              HasSubstr("does not fit"));
  auto no_entry =
      ParseMultibootKernel(Elf32(0x100000, Header(0) + "x", 0x1000, 0x200000));
  ASSERT_TRUE(no_entry.ok());
  EXPECT_FALSE(LoadMultiboot(*no_entry, {}, config, recorder.Sink()).ok());
  EXPECT_TRUE(recorder.pages.empty());
}

}  // namespace
}  // namespace faultline::vmm
