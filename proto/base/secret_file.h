// A secret (an admin token) read from a file rather than the command line,
// where every user's `ps` would show it. The file must be private to its
// owner, as ssh asks of a key.
#ifndef FAULTLINE_PROTO_BASE_SECRET_FILE_H_
#define FAULTLINE_PROTO_BASE_SECRET_FILE_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/unique_fd.h"

namespace faultline {

// A secret is at least this long (16 random bytes in hex are 32).
inline constexpr size_t kMinSecretBytes = 16;

// The file's content without surrounding white space. FAILED_PRECONDITION
// when group or others may read it, INVALID_ARGUMENT when the secret is
// shorter than kMinSecretBytes or longer than 4 KiB, the errno's status
// naming the path when it cannot be read.
inline absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  UniqueFd fd(
      RetryOnEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd.valid()) return ErrnoError(absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0)
    return ErrnoError(absl::StrCat("stat ", path));
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s may be read by others (mode %04o); a secret's "
                        "file must be mode 0600 or 0400",
                        path, st.st_mode & 0777));
  }
  std::string content(4097, '\0');
  size_t filled = 0;
  while (filled < content.size()) {
    const ssize_t n = RetryOnEintr([&] {
      return ::read(fd.get(), content.data() + filled, content.size() - filled);
    });
    if (n < 0) return ErrnoError(absl::StrCat("read ", path));
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  content.resize(filled);
  const std::string secret(absl::StripAsciiWhitespace(content));
  if (secret.size() < kMinSecretBytes || filled > 4096) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " must hold a secret of ", kMinSecretBytes,
        " to 4096 characters (for example: head -c 16 /dev/urandom | xxd -p)"));
  }
  return secret;
}

}  // namespace faultline

#endif  // FAULTLINE_PROTO_BASE_SECRET_FILE_H_
