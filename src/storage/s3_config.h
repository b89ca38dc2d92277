#pragma once
// Where an S3-compatible lake lives and how to reach it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/retry_policy.h"

namespace loch {

struct S3Config {
  std::string bucket;
  std::string
      prefix;  // key prefix inside the bucket, without leading or trailing '/'; may be empty
  std::string
      endpoint;  // e.g. "http://127.0.0.1:9000"; empty: AWS (https://s3.<region>.amazonaws.com)
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  enum class Addressing { kAuto, kPath, kVirtualHosted };
  // kAuto picks path-style for an endpoint that is an IP address or localhost (as other S3 clients
  // do), virtual-hosted style otherwise.
  Addressing addressing = Addressing::kAuto;

  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{120000};
  RetryPolicy retry;
  // Server-side encryption asked for on every object written: "" (the bucket's default),
  // "AES256" (S3-managed keys) or "aws:kms" (the bucket's or account's default KMS key).
  // `sse_kms_key_id` is refused by CheckServerSideEncryption for now (see there).
  std::string sse;
  std::string sse_kms_key_id;
  uint64_t part_size = 8 << 20;  // multipart part size; larger objects are uploaded in parts
  int upload_concurrency = 4;    // parts in flight at once

  // True if requests put the bucket in the path (http://host/bucket/key).
  bool UsePathStyle() const;
  // "s3://bucket/prefix", for messages.
  std::string Describe() const;
};

// Builds a config from a lake URL "s3://BUCKET[/PREFIX]" and the standard environment variables
// AWS_ENDPOINT_URL, AWS_REGION (or AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, read through `getenv` (injectable for tests). InvalidArgument for a malformed
// URL or missing credentials, with what to set.
absl::StatusOr<S3Config> S3ConfigFromUrl(
    std::string_view url, const std::function<std::optional<std::string>(const char*)>& getenv);

// OK for the `sse` values S3Config takes; InvalidArgument naming them otherwise.
absl::Status CheckServerSideEncryption(const std::string& sse, const std::string& kms_key_id);

// True if `url` names an S3 lake ("s3://...").
bool IsS3Url(std::string_view url);

}  // namespace loch
