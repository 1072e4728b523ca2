#include "guest-drivers/linux/flmem/commands.h"

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "guest-drivers/linux/flmem/frames.h"
#include "guest-drivers/linux/flmem/latency.h"
#include "guest-drivers/linux/flmem/sigbus.h"

namespace faultline::flmem {
namespace {

struct WordRead {
  const volatile uint64_t* address;
  uint64_t value;
};

void ReadOne(void* context) {
  auto* read = static_cast<WordRead*>(context);
  read->value = *read->address;
}

struct PageWrite {
  const Options* options;
  const Mapping* mapping;
  uint64_t page;
};

void WriteOne(void* context) {
  auto* write = static_cast<PageWrite*>(context);
  volatile uint64_t* page = write->mapping->Page(write->page);
  const uint64_t frame = write->options->FrameOf(write->page);
  if (write->options->command == Command::kFill) {
    FillPage(page, *write->options->pattern_seed, frame);
  } else {
    SignPage(page, frame);
  }
}

void ReportSigbus(const Mapping& mapping, const BusError& error) {
  const uintptr_t offset = error.address - mapping.start();
  std::printf("flmem: SIGBUS (%s) at %#" PRIxPTR ", mapped page %" PRIuPTR "\n",
              BusErrorCode(error.code), error.address, offset / kPageBytes);
}

}  // namespace

bool ReadWord(const Mapping& mapping, uint64_t mapped_page, uint64_t word,
              uint64_t* value) {
  WordRead read{mapping.Page(mapped_page) + word, 0};
  BusError error;
  if (!GuardedAccess(ReadOne, &read, &error)) {
    ReportSigbus(mapping, error);
    return false;
  }
  *value = read.value;
  return true;
}

int RunInfo(const Options& options) {
  const std::string folder = SysfsFolder(options.device);
  const auto attributes = ReadAttributes(folder);
  if (attributes.empty()) {
    std::printf("flmem: fail info: no attributes in %s\n", folder.c_str());
    return kExitUsage;
  }
  for (const auto& [name, value] : attributes) {
    std::printf("flmem: %s = %s\n", name.c_str(), value.c_str());
  }
  std::printf("flmem: pass info: %zu attributes of %s\n", attributes.size(),
              folder.c_str());
  return kExitPass;
}

int RunCheck(const Options& options, const Mapping& mapping) {
  std::vector<uint64_t> first_ns, second_ns;
  std::vector<Mismatch> found;
  uint64_t mismatches = 0;
  for (uint64_t p = 0; p < mapping.pages(); ++p) {
    uint64_t value;
    const uint64_t start = NowNs();
    if (!ReadWord(mapping, p, 0, &value)) {
      std::printf("flmem: fail check: page %" PRIu64 " could not be read\n", p);
      return kExitSigbus;
    }
    const uint64_t first = NowNs() - start;
    const uint64_t frame = options.FrameOf(p);
    mismatches += CheckPage(mapping.Page(p), p, *options.pattern_seed, frame,
                            options.signed_frames, &found, 8);
    const uint64_t again = NowNs();
    ReadWord(mapping, p, 0, &value);
    const uint64_t second = NowNs() - again;
    first_ns.push_back(first);
    second_ns.push_back(second);
    if (options.per_page) {
      std::printf("flmem: page %" PRIu64 " frame %" PRIu64
                  " first_touch_ns=%" PRIu64 " second_touch_ns=%" PRIu64 "\n",
                  options.first + p, frame, first, second);
    }
  }
  std::printf("flmem: first touch: %s\n",
              FormatSummary(Summarize(first_ns)).c_str());
  std::printf("flmem: second touch: %s\n",
              FormatSummary(Summarize(second_ns)).c_str());
  for (const Mismatch& mismatch : found) {
    std::printf("flmem: mismatch: %s\n", DescribeMismatch(mismatch).c_str());
  }
  const char* verdict = mismatches == 0 ? "pass" : "fail";
  std::printf("flmem: %s check: %" PRIu64 " pages from page %" PRIu64
              ", %" PRIu64 " words mismatched\n",
              verdict, mapping.pages(), options.first, mismatches);
  return mismatches == 0 ? kExitPass : kExitWrongData;
}

int RunWrite(const Options& options, const Mapping& mapping) {
  const char* what = options.command == Command::kFill ? "fill" : "sign";
  for (uint64_t p = 0; p < mapping.pages(); ++p) {
    PageWrite write{&options, &mapping, p};
    BusError error;
    if (!GuardedAccess(WriteOne, &write, &error)) {
      ReportSigbus(mapping, error);
      std::printf("flmem: fail %s: page %" PRIu64 " could not be written\n",
                  what, p);
      return kExitSigbus;
    }
  }
  StoreFence();
  std::printf("flmem: pass %s: %" PRIu64 " pages from page %" PRIu64 "\n", what,
              mapping.pages(), options.first);
  return kExitPass;
}

int RunExpectSigbus(const Options& options, const Mapping& mapping) {
  WordRead read{mapping.Page(options.page), 0};
  BusError error;
  const uint64_t start = NowNs();
  if (GuardedAccess(ReadOne, &read, &error)) {
    std::printf("flmem: fail expect_sigbus: page %" PRIu64
                " was read (0x%016" PRIx64 ")\n",
                options.first + options.page, read.value);
    return kExitNoSigbus;
  }
  const double waited_ms = static_cast<double>(NowNs() - start) / 1e6;
  ReportSigbus(mapping, error);
  const uintptr_t page = mapping.start() + options.page * kPageBytes;
  if (error.address < page || error.address >= page + kPageBytes) {
    std::printf("flmem: fail expect_sigbus: the SIGBUS was not on page %" PRIu64
                "\n",
                options.first + options.page);
    return kExitSigbus;
  }
  std::printf("flmem: pass expect_sigbus: page %" PRIu64
              " raised SIGBUS after %.1f ms\n",
              options.first + options.page, waited_ms);
  return kExitPass;
}

}  // namespace faultline::flmem
