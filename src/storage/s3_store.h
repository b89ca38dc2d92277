#pragma once
// S3ObjectStore: an ObjectStore on any S3-compatible service (AWS S3, MinIO, Ceph RGW, s3rver),
// through libcurl with SigV4 signing (CURLOPT_AWS_SIGV4).
//
// Object "a/b" of the lake is S3 key "<prefix>/a/b" in the bucket. Beyond the interface:
//   - Objects larger than one part (config.part_size, default 8 MiB) are uploaded with a multipart
//     upload, parts in parallel; a failed upload is aborted so no orphaned parts remain.
//   - PutIfAbsent sends `If-None-Match: *` (412 -> AlreadyExists). Servers that ignore the header
//   (such
//     as s3rver) are covered only against sequential writers: a HEAD first refuses existing keys.
//   - Retries with exponential backoff and full jitter on 5xx, 429/SlowDown, connection failures,
//     resets and timeouts; never on other 4xx. Errors carry the S3 code, message, bucket and key.
// Thread-safe: curl handles are pooled, one per request in flight.

#include <memory>
#include <string>

#include "storage/object_store.h"
#include "storage/s3_config.h"

namespace loch {

class S3ObjectStore final : public ObjectStore {
 public:
  // Checks the config; does not contact the server.
  static absl::StatusOr<std::unique_ptr<S3ObjectStore>> Open(const S3Config& config);
  ~S3ObjectStore() override;

  absl::Status Put(std::string_view key, std::string_view data) override;
  absl::Status PutIfAbsent(std::string_view key, std::string_view data) override;
  absl::Status PutFile(std::string_view key, const std::string& local_path) override;
  absl::StatusOr<std::string> Get(std::string_view key) override;
  absl::StatusOr<uint64_t> GetToFile(std::string_view key, const std::string& local_path) override;
  absl::StatusOr<std::string> GetRange(std::string_view key, uint64_t offset,
                                       uint64_t length) override;
  absl::StatusOr<ObjectInfo> Head(std::string_view key) override;
  absl::StatusOr<ListPage> List(const ListOptions& options) override;
  absl::Status Delete(std::string_view key) override;
  std::string Describe() const override { return config_.Describe(); }

  // Creates the bucket (for tests and first-time setup); succeeds if it already exists and is ours.
  absl::Status CreateBucket();

  struct Impl;

 private:
  S3ObjectStore(S3Config config, std::unique_ptr<Impl> impl);
  S3Config config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loch
