// The folder shared writable with the test host: holds run.sh, console.log,
// and what init.sh leaves behind (exit_status or init_error).
//
// Threading: one thread at a time.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_RESULTS_DIR_H_
#define FAULTLINE_INTEGRATION_TESTHOST_RESULTS_DIR_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::testhost {

class ResultsDir {
 public:
  // Uses `path` (created if missing, kept afterwards) or, when empty, a new
  // temporary folder under $TMPDIR or /tmp that is removed on destruction.
  // Files of an earlier run in a kept folder are removed first, so a stale
  // exit status is never read.
  static absl::StatusOr<std::unique_ptr<ResultsDir>> Create(
      const std::string& path);
  ~ResultsDir();

  ResultsDir(const ResultsDir&) = delete;
  ResultsDir& operator=(const ResultsDir&) = delete;

  // The folder's real path (symbolic links resolved): QEMU, started by
  // libvirtd outside any sandbox of ours, must find it.
  const std::string& path() const { return path_; }
  std::string PathOf(absl::string_view name) const;

  // Replaces the file `name` with `contents`, mode 0644.
  absl::Status WriteFile(absl::string_view name, absl::string_view contents);
  // The contents of `name`, or nullopt when it does not exist.
  absl::StatusOr<std::optional<std::string>> ReadFile(absl::string_view name);

 private:
  ResultsDir(std::string path, bool temporary)
      : path_(std::move(path)), temporary_(temporary) {}

  std::string path_;
  bool temporary_;
};

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_RESULTS_DIR_H_
