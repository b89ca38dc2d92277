#pragma once
// Verifying AWS Signature Version 4 on requests to loch's AWS-compatible APIs (Athena, later
// Firehose).
//
// Rebuilds the canonical request from what arrived (method, path, query, the headers the client
// signed, the SHA-256 of the body), derives the signing key from the secret for the credential's
// date/region/service, and compares signatures in constant time.

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace loch {

struct SignedRequest {
  std::string method;
  std::string path;                                 // as sent, percent-encoded, without the query
  std::multimap<std::string, std::string> query;    // decoded names and values
  std::multimap<std::string, std::string> headers;  // names in any case, values as sent
  std::string_view body;                            // not owned: hashed, never kept
};

struct SigV4Identity {
  std::string access_key_id;
  std::string region;
  std::string service;
};

// Checks `request`'s Authorization header against `secret_for(access_key_id)` (which returns "" for
// unknown keys). Unauthenticated if the header is missing or malformed; PermissionDenied for an
// unknown key, a wrong signature, or a request older or newer than 15 minutes (`now_seconds`).
absl::StatusOr<SigV4Identity> VerifySigV4(
    const SignedRequest& request, const std::function<std::string(const std::string&)>& secret_for,
    int64_t now_seconds);

// Signs `request` as an AWS client does (for loch's own clients and benchmarks): every header in
// it is signed, plus X-Amz-Date. Returns the headers to add: X-Amz-Date and Authorization.
std::multimap<std::string, std::string> SignSigV4(const SignedRequest& request,
                                                  const std::string& access_key_id,
                                                  const std::string& secret,
                                                  const std::string& region,
                                                  const std::string& service, int64_t now_seconds);

// The signature of a canonical request, for tests: HMAC chain over `string_to_sign`.
std::string SigV4Signature(const std::string& secret, const std::string& date,
                           const std::string& region, const std::string& service,
                           const std::string& string_to_sign);

}  // namespace loch
