#include "integration/testhost/results_dir.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "integration/testhost/command_script.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/base/unique_fd.h"

namespace faultline::testhost {
namespace {

absl::StatusOr<std::string> RealPath(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return ErrnoError(absl::StrCat("resolving ", path));
  std::string result(resolved);
  free(resolved);
  return result;
}

int RemoveEntry(const char* path, const struct stat*, int, struct FTW*) {
  ::remove(path);
  return 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ResultsDir>> ResultsDir::Create(
    const std::string& path) {
  if (path.empty()) {
    const char* tmpdir = getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmpdir != nullptr && tmpdir[0] != '\0' ? tmpdir : "/tmp",
                     "/testhost-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return ErrnoError(absl::StrCat("creating a results folder ", pattern));
    }
    ASSIGN_OR_RETURN(std::string real, RealPath(pattern));
    return std::unique_ptr<ResultsDir>(new ResultsDir(real, true));
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError(absl::StrCat("creating the results folder ", path));
  }
  ASSIGN_OR_RETURN(std::string real, RealPath(path));
  auto dir = std::unique_ptr<ResultsDir>(new ResultsDir(real, false));
  for (const char* name :
       {kRunScriptName, kExitStatusName, kInitErrorName, kConsoleLogName}) {
    if (::unlink(dir->PathOf(name).c_str()) != 0 && errno != ENOENT) {
      return ErrnoError(absl::StrCat("removing ", dir->PathOf(name)));
    }
  }
  return dir;
}

ResultsDir::~ResultsDir() {
  if (temporary_) {
    nftw(path_.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
  }
}

std::string ResultsDir::PathOf(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

absl::Status ResultsDir::WriteFile(absl::string_view name,
                                   absl::string_view contents) {
  const std::string path = PathOf(name);
  ASSIGN_OR_RETURN(
      int raw_fd,
      CheckSyscall(
          ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
          absl::StrCat("creating ", path)));
  UniqueFd fd(raw_fd);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t written = RetryOnEintr([&] {
      return ::write(fd.get(), contents.data() + done, contents.size() - done);
    });
    if (written < 0) return ErrnoError(absl::StrCat("writing ", path));
    done += static_cast<size_t>(written);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> ResultsDir::ReadFile(
    absl::string_view name) {
  const std::string path = PathOf(name);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::optional<std::string>();
    return ErrnoError(absl::StrCat("opening ", path));
  }
  std::string contents;
  char buffer[4096];
  while (true) {
    ssize_t got =
        RetryOnEintr([&] { return ::read(fd.get(), buffer, sizeof(buffer)); });
    if (got < 0) return ErrnoError(absl::StrCat("reading ", path));
    if (got == 0) break;
    contents.append(buffer, static_cast<size_t>(got));
  }
  return std::optional<std::string>(std::move(contents));
}

}  // namespace faultline::testhost
