#include "server/admission.h"

#include "server/sigv4.h"

namespace loch {

absl::Status AdmitRequestBody(const httplib::Request& request,
                              const AdminCredentials& credentials) {
  const std::string header = request.get_header_value("Authorization");
  if (header.empty()) {
    return absl::UnauthenticatedError(
        "missing credentials: requests with a body need `Authorization: Bearer <token>` or an "
        "AWS SigV4 signature (see <state>/admin-credentials.json)");
  }
  if (header.starts_with("Bearer ")) {
    if (SecretsEqual(header.substr(7), credentials.token)) return absl::OkStatus();
    return absl::PermissionDeniedError("the bearer token is not valid for this lake");
  }
  if (std::optional<std::string> key = SigV4AccessKeyId(header)) {
    if (SecretsEqual(*key, credentials.access_key_id)) return absl::OkStatus();
    return absl::PermissionDeniedError(
        "the access key in the signature is not this lake's (see admin-credentials.json)");
  }
  return absl::UnauthenticatedError(
      "the Authorization header must be `Bearer <token>` or an AWS4-HMAC-SHA256 signature");
}

}  // namespace loch
