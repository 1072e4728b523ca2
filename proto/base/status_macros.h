// RETURN_IF_ERROR and ASSIGN_OR_RETURN, which abseil 20220623 does not have.
#ifndef FAULTLINE_PROTO_BASE_STATUS_MACROS_H_
#define FAULTLINE_PROTO_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status of `expr` (an absl::Status) from the enclosing function
// when it is not OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status faultline_status_ = (expr);             \
    if (!faultline_status_.ok()) return faultline_status_; \
  } while (false)

#define FAULTLINE_CONCAT_INNER_(a, b) a##b
#define FAULTLINE_CONCAT_(a, b) FAULTLINE_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::StatusOr<T>); returns its status when it is not
// OK, otherwise moves the value into `lhs`, which may be a declaration:
//   ASSIGN_OR_RETURN(auto fd, OpenDevice(path));
#define ASSIGN_OR_RETURN(lhs, expr) \
  FAULTLINE_ASSIGN_OR_RETURN_IMPL_( \
      FAULTLINE_CONCAT_(faultline_statusor_, __LINE__), lhs, expr)

#define FAULTLINE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  if (!statusor.ok()) return std::move(statusor).status();    \
  lhs = std::move(statusor).value()

#endif  // FAULTLINE_PROTO_BASE_STATUS_MACROS_H_
