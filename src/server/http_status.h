#pragma once
// The one place where Status codes become HTTP answers.

#include <string>

#include "common/status.h"

namespace loch {

// 400 InvalidArgument/FailedPrecondition/OutOfRange, 401 Unauthenticated, 403 PermissionDenied,
// 404 NotFound, 409 AlreadyExists/Aborted, 413/429/503 ResourceExhausted/Unavailable, 499
// Cancelled, 504 DeadlineExceeded, 500 otherwise.
int HttpStatusFor(absl::StatusCode code);

// {"error": {"code": "NOT_FOUND", "message": "..."}}
std::string ErrorJson(const absl::Status& status);

}  // namespace loch
