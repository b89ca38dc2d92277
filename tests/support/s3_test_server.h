#pragma once
// Starts a real S3 server for tests: s3rver (npm) on loopback, behind tests/support/s3_proxy.mjs,
// which verifies every request's SigV4 signature with the AWS SDK's signer, can inject faults, and
// counts requests. Both are child processes, stopped when the object is destroyed.

#include <memory>
#include <string>

#include "common/status.h"
#include "common/test_dir.h"
#include "nlohmann/json.hpp"
#include "storage/s3_config.h"

namespace loch::testing_support {

class S3TestServer {
 public:
  // Starts the server pair; fails with the command to run if the npm peers are not installed.
  static absl::StatusOr<std::unique_ptr<S3TestServer>> Start();
  ~S3TestServer();

  // The endpoint clients should use (the verifying proxy).
  std::string endpoint() const { return endpoint_; }
  // The s3rver endpoint itself (no verification, no faults), for independent checks.
  std::string direct_endpoint() const { return direct_endpoint_; }
  // A config for `bucket` (created if needed) with this server's endpoint and test credentials.
  S3Config ConfigFor(const std::string& bucket, const std::string& prefix = "") const;
  absl::Status CreateBucket(const std::string& bucket) const;

  // Proxy statistics: requests, verified, rejected, failed, dropped, by_method, gets_by_key.
  absl::StatusOr<nlohmann::json> Stats() const;
  absl::Status ResetStats() const;
  // Fault settings: {"fail_rate": 0.2, "drop_before_rate": 0.1, "drop_after_rate": 0.1, "delay_ms":
  // 0, "seed": 7}. Missing fields keep their value.
  absl::Status SetFaults(const nlohmann::json& faults) const;

  // s3rver accepts only its built-in credentials.
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";
  static constexpr const char* kRegion = "eu-test-1";

 private:
  S3TestServer() = default;
  TestDir scratch_{"loch-s3rver"};  // the bucket data and both logs
  int s3rver_pid_ = -1;
  int proxy_pid_ = -1;
  std::string data_dir_;
  std::string endpoint_;
  std::string direct_endpoint_;
};

}  // namespace loch::testing_support
