#include "guest-drivers/qemu_boot/boot_shim.h"

#include "proto/guest_abi.h"
#include "proto/pattern.h"

namespace faultline::guest::qemu_boot {
namespace {

namespace abi = guest_abi;

// The payload's RAM ends below the shim (linked at 64 MiB) and its module;
// those need a few MiB more above it.
constexpr uint64_t kRamBytes = 64ull << 20;
constexpr uint64_t kApTrampoline = 0xD000;
constexpr uint32_t kShimFailureStatus = 99;
static_assert(abi::kGdtAddress == 0x2000 && abi::kPageTableAddress == 0x3000,
              "boot_entry.cc hard-codes the ABI's GDT and page tables");
static_assert(abi::kIdentityMapBytes == 8ull << 30, "eight page directories");
static_assert(abi::kPageTableAddress + (2 + 8) * abi::kPageBytes <=
                  kApTrampoline,
              "the AP trampoline must not overlap the page tables");

struct MultibootInfo {
  uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count,
      mods_addr;
};
struct MultibootModule {
  uint32_t start, end, string, reserved;
};
constexpr uint32_t kMultibootMemory = 1u << 0;
constexpr uint32_t kMultibootCmdline = 1u << 2;
constexpr uint32_t kMultibootModules = 1u << 3;

struct Elf64Header {
  uint8_t ident[16];
  uint16_t type, machine;
  uint32_t version;
  uint64_t entry, phoff, shoff;
  uint32_t flags;
  uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct Elf64ProgramHeader {
  uint32_t type, flags;
  uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

void OutByte(uint16_t port, uint8_t value) {
  asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

void Say(const char* text) {
  while (*text != '\0') OutByte(abi::kSerialPort, *text++);
}

[[noreturn]] void Fail(const char* why) {
  Say("qemu_boot: ");
  Say(why);
  Say("\n");
  asm volatile("outl %0, %1"
               :
               : "a"(kShimFailureStatus), "Nd"(abi::kDebugExitPort));
  for (;;) asm volatile("cli; hlt");
}

void Copy(uint64_t to, uint64_t from, uint64_t bytes) {
  auto* destination = reinterpret_cast<volatile uint8_t*>(to);
  const auto* source = reinterpret_cast<const volatile uint8_t*>(from);
  for (uint64_t i = 0; i < bytes; ++i) destination[i] = source[i];
}

void Zero(uint64_t to, uint64_t bytes) {
  auto* destination = reinterpret_cast<volatile uint8_t*>(to);
  for (uint64_t i = 0; i < bytes; ++i) destination[i] = 0;
}

// Finds "key=N" (decimal) in the shim's own command line (QEMU's -append).
bool FindNumber(const MultibootInfo& info, const char* key, uint64_t* value) {
  if ((info.flags & kMultibootCmdline) == 0) return false;
  const char* text = reinterpret_cast<const char*>(uint64_t{info.cmdline});
  for (; *text != '\0'; ++text) {
    int k = 0;
    while (key[k] != '\0' && text[k] == key[k]) ++k;
    if (key[k] != '\0') continue;
    *value = 0;
    for (const char* d = text + k; *d >= '0' && *d <= '9'; ++d) {
      *value = *value * 10 + (*d - '0');
    }
    return true;
  }
  return false;
}

// Loads the payload's PT_LOAD segments (bss zeroed) and returns the
// page-aligned image end.
uint64_t LoadPayload(const MultibootModule& module) {
  const uint64_t base = module.start;
  const uint64_t size = module.end - module.start;
  const auto& header = *reinterpret_cast<const Elf64Header*>(base);
  if (size < sizeof(Elf64Header) || header.ident[0] != 0x7F ||
      header.ident[1] != 'E' || header.ident[2] != 'L' ||
      header.ident[3] != 'F' || header.ident[4] != 2 || header.type != 2 ||
      header.machine != 62 || header.phentsize != sizeof(Elf64ProgramHeader) ||
      header.phoff + header.phnum * sizeof(Elf64ProgramHeader) > size) {
    Fail("the module is not an ELF64 x86-64 executable");
  }
  uint64_t end = 0;
  for (uint16_t i = 0; i < header.phnum; ++i) {
    const auto& segment =
        reinterpret_cast<const Elf64ProgramHeader*>(base + header.phoff)[i];
    if (segment.type != 1) continue;  // PT_LOAD
    if (segment.paddr < abi::kPayloadMinAddress || segment.memsz > kRamBytes ||
        segment.paddr > kRamBytes - segment.memsz ||
        segment.filesz > segment.memsz || segment.offset > size ||
        segment.filesz > size - segment.offset) {
      Fail("a payload segment lies outside [1 MiB, RAM) or the file");
    }
    Copy(segment.paddr, base + segment.offset, segment.filesz);
    Zero(segment.paddr + segment.filesz, segment.memsz - segment.filesz);
    const uint64_t segment_end = segment.paddr + segment.memsz;
    if (segment_end > end) end = segment_end;
  }
  shim_payload_entry = header.entry;
  return (end + abi::kPageBytes - 1) & ~(abi::kPageBytes - 1);
}

// Like the VMM with a pattern RAM source: every page above the image holds
// pattern::Word(seed, frame, word).
void FillPattern(uint64_t image_end, uint64_t seed) {
  for (uint64_t frame = image_end / abi::kPageBytes;
       frame < kRamBytes / abi::kPageBytes; ++frame) {
    pattern::FillPage(seed, frame,
                      reinterpret_cast<uint64_t*>(frame * abi::kPageBytes));
  }
}

void WriteBootInfo(const MultibootModule& module, uint32_t vcpus,
                   uint64_t image_end, const uint64_t* pattern_seed) {
  Zero(abi::kBootInfoAddress, sizeof(abi::BootInfo));
  auto* boot = reinterpret_cast<abi::BootInfo*>(abi::kBootInfoAddress);
  boot->magic = abi::kBootInfoMagic;
  boot->version = abi::kBootInfoVersion;
  boot->vcpu_count = vcpus;
  boot->ram_bytes = kRamBytes;
  boot->image_end = image_end;
  // The module's string is "PATH args...": the payload gets the args, plus
  // pattern_seed=N as the VMM appends it for a pattern source.
  const char* text = reinterpret_cast<const char*>(uint64_t{module.string});
  while (*text != '\0' && *text != ' ') ++text;
  while (*text == ' ') ++text;
  uint32_t length = 0;
  const auto append = [&](char c) {
    if (length + 1 >= abi::kMaxArgsBytes) Fail("payload arguments too long");
    boot->args[length++] = c;
  };
  for (; *text != '\0'; ++text) append(*text);
  if (pattern_seed != nullptr) {
    const char* key = " pattern_seed=";
    for (int i = length == 0 ? 1 : 0; key[i] != '\0'; ++i) append(key[i]);
    char digits[20];
    int count = 0;
    uint64_t value = *pattern_seed;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0) append(digits[--count]);
  }
}

// The ABI's identity map of kIdentityMapBytes in 2 MiB pages: PML4, PDPT,
// then one page directory per GiB; then the boot CPU switches to it.
void InstallAbiPageTables() {
  constexpr uint64_t kPresentWritable = 0x3, kLargePage = 0x80;
  constexpr uint64_t kGiBs = abi::kIdentityMapBytes >> 30;
  const uint64_t pml4 = abi::kPageTableAddress;
  const uint64_t pdpt = pml4 + abi::kPageBytes;
  const uint64_t directories = pdpt + abi::kPageBytes;
  Zero(pml4, (2 + kGiBs) * abi::kPageBytes);
  auto* entries = reinterpret_cast<volatile uint64_t*>(pml4);
  entries[0] = pdpt | kPresentWritable;
  for (uint64_t gib = 0; gib < kGiBs; ++gib) {
    const uint64_t directory = directories + gib * abi::kPageBytes;
    reinterpret_cast<volatile uint64_t*>(pdpt)[gib] =
        directory | kPresentWritable;
    for (uint64_t i = 0; i < 512; ++i) {
      reinterpret_cast<volatile uint64_t*>(directory)[i] =
          ((gib << 30) + (i << 21)) | kLargePage | kPresentWritable;
    }
  }
  asm volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
}

void WriteApic(uint32_t offset, uint32_t value) {
  *reinterpret_cast<volatile uint32_t*>(0xFEE00000ull + offset) = value;
}
uint32_t ReadApic(uint32_t offset) {
  return *reinterpret_cast<volatile uint32_t*>(0xFEE00000ull + offset);
}

void Settle() {
  for (int i = 0; i < 100000; ++i) asm volatile("pause");
}

// INIT, then two startup IPIs, to every other CPU; each runs the trampoline
// into shim_ap64 and waits there for shim_release.
void StartApplicationProcessors(uint32_t vcpus) {
  Copy(kApTrampoline, reinterpret_cast<uint64_t>(shim_ap_trampoline),
       shim_ap_trampoline_end - shim_ap_trampoline);
  constexpr uint32_t kSpuriousVector = 0xF0, kIcrLow = 0x300, kIcrHigh = 0x310;
  constexpr uint32_t kAllButSelf = 3u << 18;
  WriteApic(kSpuriousVector, ReadApic(kSpuriousVector) | 0x100);
  WriteApic(kIcrHigh, 0);
  WriteApic(kIcrLow, kAllButSelf | 0x4500);  // INIT, assert
  Settle();
  for (int startup = 0; startup < 2; ++startup) {
    WriteApic(kIcrLow, kAllButSelf | 0x4600 | (kApTrampoline >> 12));
    Settle();
  }
  for (uint64_t spins = 0;
       __atomic_load_n(&shim_aps_arrived, __ATOMIC_ACQUIRE) < vcpus - 1;
       ++spins) {
    if (spins == (1ull << 32)) Fail("not every CPU came up: check QEMU -smp");
    asm volatile("pause");
  }
}

}  // namespace
}  // namespace faultline::guest::qemu_boot

extern "C" void shim_main(uint32_t multiboot_info) {
  namespace shim = faultline::guest::qemu_boot;
  shim::Say("\n");  // the firmware leaves its last line unterminated
  const auto& info =
      *reinterpret_cast<const shim::MultibootInfo*>(uint64_t{multiboot_info});
  if ((info.flags & shim::kMultibootModules) == 0 || info.mods_count < 1) {
    shim::Fail("no payload: pass it with QEMU -initrd \"PAYLOAD args\"");
  }
  if ((info.flags & shim::kMultibootMemory) == 0 ||
      (uint64_t{info.mem_upper} + 1024) * 1024 < shim::kRamBytes + (32 << 20)) {
    shim::Fail("too little RAM: run QEMU with -m 128M or more");
  }
  const auto& module =
      *reinterpret_cast<const shim::MultibootModule*>(uint64_t{info.mods_addr});
  uint64_t vcpus = 1, pattern_seed = 0;
  shim::FindNumber(info, "vcpus=", &vcpus);
  if (vcpus == 0 || vcpus > faultline::guest_abi::kMaxVcpus) {
    shim::Fail("vcpus= must be 1..16");
  }
  const bool has_pattern =
      shim::FindNumber(info, "pattern_seed=", &pattern_seed);
  const uint64_t image_end = shim::LoadPayload(module);
  shim::WriteBootInfo(module, static_cast<uint32_t>(vcpus), image_end,
                      has_pattern ? &pattern_seed : nullptr);
  // QEMU's multiboot information is overwritten from here on.
  shim::InstallAbiPageTables();
  if (has_pattern) shim::FillPattern(image_end, pattern_seed);
  if (vcpus > 1) shim::StartApplicationProcessors(static_cast<uint32_t>(vcpus));
  __atomic_store_n(&shim_release, 1u, __ATOMIC_RELEASE);
  shim_enter_payload();
}
