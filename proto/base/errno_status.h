// errno becomes an absl::Status right at the system call that set it.
#ifndef FAULTLINE_PROTO_BASE_ERRNO_STATUS_H_
#define FAULTLINE_PROTO_BASE_ERRNO_STATUS_H_

#include <cerrno>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline {

// The status for the current errno, "what: strerror".
inline absl::Status ErrnoError(absl::string_view what) {
  return absl::ErrnoToStatus(errno, what);
}

// For calls that return -1 and set errno: the result, or the errno status.
template <typename T>
absl::StatusOr<T> CheckSyscall(T result, absl::string_view what) {
  if (result == static_cast<T>(-1)) return ErrnoError(what);
  return result;
}

// Repeats a call while it fails with EINTR.
template <typename Call>
auto RetryOnEintr(Call call) -> decltype(call()) {
  decltype(call()) result;
  do {
    result = call();
  } while (result == -1 && errno == EINTR);
  return result;
}

}  // namespace faultline

#endif  // FAULTLINE_PROTO_BASE_ERRNO_STATUS_H_
