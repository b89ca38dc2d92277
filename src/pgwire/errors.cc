#include "pgwire/errors.h"

#include <string_view>

#include "common/strings.h"

namespace loch::pg {

std::string SqlStateFor(const absl::Status& status) {
  const std::string_view message = ToStd(status.message());
  auto mentions = [&](std::string_view text) { return message.find(text) != std::string::npos; };
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      if (mentions("Parser Error") || mentions("syntax error")) return "42601";
      if (mentions("Referenced column") || (mentions("column") && mentions("not found"))) {
        return "42703";
      }
      if (mentions("Conversion Error") || mentions("Could not convert")) return "22P02";
      if (mentions("does not exist")) return "42P01";
      return "42000";
    case absl::StatusCode::kNotFound:
      return "42P01";
    case absl::StatusCode::kAlreadyExists:
      return "42P07";
    case absl::StatusCode::kPermissionDenied:
      return "42501";
    case absl::StatusCode::kUnauthenticated:
      return sqlstate::kInvalidPassword;
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
      return "57014";
    case absl::StatusCode::kAborted:
      return "40001";
    case absl::StatusCode::kResourceExhausted:
      return "53200";
    case absl::StatusCode::kFailedPrecondition:
      return "55000";
    case absl::StatusCode::kUnimplemented:
      return sqlstate::kFeatureNotSupported;
    default:
      return "XX000";
  }
}

}  // namespace loch::pg
