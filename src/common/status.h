#pragma once
// Error-handling helpers shared by every module.
//
// Every function that can fail returns absl::Status or absl::StatusOr<T>; no exception crosses a
// module boundary. Messages name the thing that was wrong and, where there is one, the fix.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LOCH_CONCAT_INNER_(a, b) a##b
#define LOCH_CONCAT_(a, b) LOCH_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if it is not OK.
#define RETURN_IF_ERROR(expr)                                       \
  do {                                                              \
    if (::absl::Status _loch_status = (expr); !_loch_status.ok()) { \
      return _loch_status;                                          \
    }                                                               \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, StatusOrExpr())`: declares/assigns `lhs` from the value of an
// absl::StatusOr, or returns its error status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  LOCH_ASSIGN_OR_RETURN_IMPL_(LOCH_CONCAT_(_loch_statusor_, __LINE__), lhs, expr)

#define LOCH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()

namespace loch {

// Returns `status` with `context` prepended to its message ("context: message"), keeping its code.
// An OK status is returned unchanged.
absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace loch
