// Writing a benchmark's output files.
#ifndef FAULTLINE_INTEGRATION_BENCH_BENCH_FILES_H_
#define FAULTLINE_INTEGRATION_BENCH_BENCH_FILES_H_

#include <fstream>
#include <string>

#include "absl/status/status.h"

namespace faultline::bench {

// Writes `text` to `path` (nothing when path is empty).
inline absl::Status WriteTextFile(const std::string& path,
                                  const std::string& text) {
  if (path.empty()) return absl::OkStatus();
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_BENCH_FILES_H_
