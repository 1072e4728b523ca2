// Writing a benchmark's output files.
#ifndef FAULTLINE_INTEGRATION_BENCH_BENCH_FILES_H_
#define FAULTLINE_INTEGRATION_BENCH_BENCH_FILES_H_

#include <cstdio>
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

// Prints the Markdown `tables` and writes them and `csv` where the flags ask;
// returns the program's exit status (1 when a file could not be written).
inline int PrintAndWriteResults(const char* program, const std::string& tables,
                                const std::string& markdown_path,
                                const std::string& csv,
                                const std::string& csv_path) {
  std::printf("%s", tables.c_str());
  for (const absl::Status& written :
       {WriteTextFile(csv_path, csv), WriteTextFile(markdown_path, tables)}) {
    if (!written.ok()) {
      std::fprintf(stderr, "%s: %s\n", program, written.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace faultline::bench

#endif  // FAULTLINE_INTEGRATION_BENCH_BENCH_FILES_H_
