#include "server/admission.h"

#include "common/strings.h"
#include "fmt/format.h"
#include "server/sigv4.h"

namespace loch {

absl::Status AdmitRequestBody(const httplib::Request& request,
                              const CredentialsKeeper& credentials) {
  const std::string header = request.get_header_value("Authorization");
  if (header.empty() && request.path == kSignInPath) {
    // The one body sent before any credentials: small, and of a known length.
    const std::optional<int64_t> length =
        ParseInteger(request.get_header_value("Content-Length"), 0, kMaxSignInBodyBytes);
    if (length.has_value()) return absl::OkStatus();
    return absl::InvalidArgumentError(fmt::format(
        "a sign-in must say its Content-Length, at most {} bytes", kMaxSignInBodyBytes));
  }
  if (header.empty()) {
    if (const std::optional<std::string> session =
            CookieValue(request.get_header_value("Cookie"), kConsoleSessionCookie)) {
      if (credentials.FindSession(*session)) return absl::OkStatus();
      return absl::UnauthenticatedError("the console session has ended: sign in again");
    }
    return absl::UnauthenticatedError(
        "missing credentials: requests with a body need `Authorization: Bearer <token>` or an "
        "AWS SigV4 signature (see <state>/admin-credentials.json)");
  }
  if (header.starts_with("Bearer ")) {
    if (credentials.TokenValid(std::string_view(header).substr(7))) return absl::OkStatus();
    return absl::PermissionDeniedError("the bearer token is not valid for this lake");
  }
  if (std::optional<std::string> key = SigV4AccessKeyId(header)) {
    if (credentials.SecretOf(*key)) return absl::OkStatus();
    return absl::PermissionDeniedError(
        "the access key in the signature is not this lake's (see admin-credentials.json)");
  }
  return absl::UnauthenticatedError(
      "the Authorization header must be `Bearer <token>` or an AWS4-HMAC-SHA256 signature");
}

}  // namespace loch
