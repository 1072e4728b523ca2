// Writes a RAM image whose content is the broker's pattern source, so a guest
// served with --ram_source=image:FILE sees the same bytes as with
// --ram_source=pattern:SEED and ramtouch can verify it (pattern_seed=SEED).
// The image is meant for a RAM region at guest-physical 0: the page at file
// offset X belongs to guest frame X / 4096.
//
// pattern_image SEED BYTES OUT   (BYTES a positive multiple of 4096)
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "proto/pattern.h"

namespace {

bool ParseNumber(const char* text, uint64_t* value) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long parsed = std::strtoull(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') return false;
  *value = parsed;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  namespace pattern = faultline::pattern;
  uint64_t seed = 0;
  uint64_t bytes = 0;
  if (argc != 4 || !ParseNumber(argv[1], &seed) ||
      !ParseNumber(argv[2], &bytes) || bytes == 0 ||
      bytes % pattern::kPageBytes != 0) {
    std::fprintf(stderr,
                 "usage: pattern_image SEED BYTES OUT (BYTES a positive "
                 "multiple of 4096)\n");
    return 2;
  }
  const std::string out = argv[3];
  std::FILE* file = std::fopen(out.c_str(), "wb");
  if (file == nullptr) {
    std::fprintf(stderr, "pattern_image: cannot create %s: %s\n", out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  uint64_t page[pattern::kWordsPerPage];
  const uint64_t frames = bytes / pattern::kPageBytes;
  for (uint64_t frame = 0; frame < frames; ++frame) {
    pattern::FillPage(seed, frame, page);
    if (std::fwrite(page, sizeof(page), 1, file) != 1) {
      std::fprintf(stderr, "pattern_image: writing %s: %s\n", out.c_str(),
                   std::strerror(errno));
      std::fclose(file);
      return 1;
    }
  }
  if (std::fclose(file) != 0) {
    std::fprintf(stderr, "pattern_image: closing %s: %s\n", out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::printf("pattern_image: wrote %" PRIu64 " pages of pattern seed %" PRIu64
              " to %s\n",
              frames, seed, out.c_str());
  return 0;
}
