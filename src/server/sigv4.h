#pragma once
// Verifying AWS Signature Version 4 on requests to loch's AWS-compatible APIs (Firehose, Athena).
//
// Rebuilds the canonical request from what arrived (method, path, query, the headers the client
// signed, the SHA-256 of the body), derives the signing key from the secret for the credential's
// date/region/service, and compares signatures in constant time. Canonical form as AWS defines it
// for services other than S3: the path with dot segments resolved, empty segments dropped and each
// segment URI-encoded once more; the query sorted by encoded name, then value; header values
// trimmed with inner whitespace runs (folded lines too) as one space, repeats joined with ','.
// Checked against AWS's SigV4 test suite (sigv4_suite_test.cc) and the AWS SDK's signer on
// randomized requests (tests/sigv4_interop_test.cc).

#include <functional>
#include <map>
#include <optional>
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

// The access key id an `Authorization: AWS4-HMAC-SHA256 Credential=KEY/...` header names, if the
// header is shaped so (nothing is verified: see VerifySigV4). Safe on any input.
std::optional<std::string> SigV4AccessKeyId(std::string_view authorization);

// Signs `request` as an AWS client does (for loch's own clients and benchmarks): every header in
// it is signed, plus X-Amz-Date; the payload hash is its x-amz-content-sha256 header if it has
// one (e.g. UNSIGNED-PAYLOAD), else the body's SHA-256. Returns the headers to add: X-Amz-Date and
// Authorization.
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
