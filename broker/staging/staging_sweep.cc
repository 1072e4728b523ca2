#include "broker/staging/staging_sweep.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "proto/base/errno_status.h"
#include "proto/base/unique_fd.h"

namespace faultline::broker {
namespace {

constexpr absl::string_view kStagingFilePrefix = "faultline-staging-";

// faultline-staging-<hex session>@<decimal pid>, as StagingFilePath makes.
bool IsStagingFileName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kStagingFilePrefix)) return false;
  const size_t at = name.find('@');
  if (at == 0 || at == absl::string_view::npos || at + 1 == name.size()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i < at && !absl::ascii_isxdigit(c)) return false;
    if (i > at && !absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// Removes `dir`/`name` if it is an unlocked, sized regular file: a leftover.
bool SweepIfLeftover(const std::string& dir, const std::string& name) {
  const std::string path = absl::StrCat(dir, "/", name);
  UniqueFd file(RetryOnEintr([&] {
    return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  }));
  if (!file.valid()) return false;  // Gone, or another user's.
  // Held: a live broker's area.
  if (::flock(file.get(), LOCK_EX | LOCK_NB) != 0) return false;
  struct stat held;
  if (::fstat(file.get(), &held) != 0 || !S_ISREG(held.st_mode)) return false;
  // Size 0: its creator has not taken the lock yet (it sizes the file after).
  if (held.st_size == 0) return false;
  // The name must still be this file (its broker may have removed it since).
  struct stat named;
  if (::lstat(path.c_str(), &named) != 0 || named.st_dev != held.st_dev ||
      named.st_ino != held.st_ino) {
    return false;
  }
  return ::unlink(path.c_str()) == 0;
}

}  // namespace

std::string StagingFilePath(absl::string_view dir,
                            absl::string_view session_id) {
  return absl::StrCat(dir, "/", kStagingFilePrefix, session_id, "@",
                      ::getpid());
}

absl::StatusOr<int> SweepLeftoverStagingFiles(const std::string& dir) {
  std::vector<std::string> names;
  {
    DIR* listing = ::opendir(dir.c_str());
    if (listing == nullptr) return ErrnoError(absl::StrCat("read ", dir));
    while (const dirent* entry = ::readdir(listing)) {
      if (IsStagingFileName(entry->d_name)) names.push_back(entry->d_name);
    }
    ::closedir(listing);
  }
  int swept = 0;
  for (const std::string& name : names) {
    if (SweepIfLeftover(dir, name)) ++swept;
  }
  return swept;
}

}  // namespace faultline::broker
