#pragma once
// SQLSTATE codes for loch's errors, as PostgreSQL clients expect them (Appendix A of the
// PostgreSQL manual).

#include <string>

#include "common/status.h"

namespace loch::pg {

namespace sqlstate {
inline constexpr const char* kProtocolViolation = "08P01";
inline constexpr const char* kInvalidPassword = "28P01";
inline constexpr const char* kFeatureNotSupported = "0A000";
inline constexpr const char* kTooManyConnections = "53300";
inline constexpr const char* kUndefinedObject = "42704";
inline constexpr const char* kAdminShutdown = "57P01";
}  // namespace sqlstate

// The SQLSTATE for a failed statement: syntax errors 42601, unknown tables 42P01, unknown
// columns 42703, conversions 22P02, permissions 42501, timeouts and cancellations 57014,
// conflicts 40001, out of memory 53200, anything unexpected XX000.
std::string SqlStateFor(const absl::Status& status);

}  // namespace loch::pg
