// The S3 backend against a real S3 server (s3rver from npm) behind a proxy that verifies every
// SigV4 signature with the AWS SDK's signer and injects faults. See tests/support/.

#include "storage/s3_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "common/ids.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "storage/object_store_conformance.h"
#include "tests/support/s3_test_server.h"

namespace loch {
namespace {

using ::testing::HasSubstr;
using testing_support::S3TestServer;

S3TestServer* server = nullptr;

class S3Environment : public testing::Environment {
 public:
  void SetUp() override {
    auto started = S3TestServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    server = started->release();
  }
  void TearDown() override { delete server; }
};
const auto* const kEnvironment = testing::AddGlobalTestEnvironment(new S3Environment);

std::string NewBucket() {
  std::string bucket = "t-" + NewRandomId().substr(0, 16);
  EXPECT_TRUE(server->CreateBucket(bucket).ok());
  return bucket;
}

std::unique_ptr<S3ObjectStore> NewStore(S3Config config) {
  return std::move(S3ObjectStore::Open(config)).value();
}

std::unique_ptr<S3ObjectStore> FreshStore() {
  (void)server->SetFaults({{"fail_rate", 0},
                           {"drop_before_rate", 0},
                           {"drop_after_rate", 0},
                           {"delay_ms", 0},
                           {"match", ""}});
  return NewStore(server->ConfigFor(NewBucket(), "lake/root"));
}

INSTANTIATE_TEST_SUITE_P(S3rver, ObjectStoreConformance,
                         testing::Values(StoreFactory{
                             "s3", [] { return std::unique_ptr<ObjectStore>(FreshStore()); },
                             /*atomic_put_if_absent=*/false, /*atomic_replace=*/false}),
                         StoreFactoryName);

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string Patterned(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return data;
}

class S3StoreTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server
                    ->SetFaults({{"fail_rate", 0},
                                 {"drop_before_rate", 0},
                                 {"drop_after_rate", 0},
                                 {"delay_ms", 0},
                                 {"seed", 7},
                                 {"match", ""},
                                 {"fail_status", 503},
                                 {"fail_code", "SlowDown"}})
                    .ok());
    bucket_ = NewBucket();
    config_ = server->ConfigFor(bucket_, "lake");
    config_.part_size = 5 << 20;
    store_ = NewStore(config_);
    ASSERT_TRUE(server->ResetStats().ok());
  }
  void TearDown() override {
    (void)server->SetFaults(
        {{"fail_rate", 0}, {"drop_before_rate", 0}, {"drop_after_rate", 0}, {"delay_ms", 0}});
  }

  std::string bucket_;
  S3Config config_;
  std::unique_ptr<S3ObjectStore> store_;
};

TEST_F(S3StoreTest, EverySignatureVerifiesWithTheAwsSdkSigner) {
  ASSERT_TRUE(store_->Put("a/key with spaces & symbols=+~.json", "{}").ok());
  ASSERT_TRUE(store_->Get("a/key with spaces & symbols=+~.json").ok());
  ASSERT_TRUE(ListAll(*store_, "a/key with").ok());
  auto stats = server->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GT((*stats)["verified"].get<int>(), 0);
  EXPECT_EQ((*stats)["rejected"], 0);

  // A wrong secret is caught by the verifier (so the check above can fail), and 403 is not retried.
  S3Config wrong = config_;
  wrong.secret_access_key = "not-the-secret";
  ASSERT_TRUE(server->ResetStats().ok());
  absl::Status denied = NewStore(wrong)->Put("x", "y");
  EXPECT_TRUE(absl::IsPermissionDenied(denied)) << denied;
  EXPECT_THAT(std::string(ToStd(denied.message())), HasSubstr("SignatureDoesNotMatch"));
  EXPECT_EQ((*server->Stats())["requests"], 1);
}

TEST_F(S3StoreTest, SessionTokensAreSigned) {
  S3Config with_token = config_;
  with_token.session_token = "session/token+value==";
  auto store = NewStore(with_token);
  EXPECT_TRUE(store->Put("t", "v").ok());
  EXPECT_EQ((*server->Stats())["rejected"], 0);
}

TEST_F(S3StoreTest, LargeObjectsUseConcurrentMultipartUploads) {
  const std::string data = Patterned((17 << 20) + 123);
  ASSERT_TRUE(store_->Put("big/object.bin", data).ok());
  auto stats = server->Stats();
  EXPECT_GE((*stats)["by_method"]["PUT"].get<int>(), 4);   // four parts
  EXPECT_GE((*stats)["by_method"]["POST"].get<int>(), 2);  // initiate + complete
  auto back = store_->Get("big/object.bin");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Sha256Hex(*back), Sha256Hex(data));
  EXPECT_EQ(*store_->GetRange("big/object.bin", 10 << 20, 5), data.substr(10 << 20, 5));

  const std::string path = testing::TempDir() + "/loch-s3-putfile.bin";
  std::ofstream(path, std::ios::binary) << data;
  ASSERT_TRUE(store_->PutFile("big/from-file.bin", path).ok());
  EXPECT_EQ(store_->Head("big/from-file.bin")->size, data.size());
}

TEST_F(S3StoreTest, FailedMultipartUploadIsAbortedAndLeavesNothing) {
  const std::string data = Patterned(12 << 20);
  // Part 2 fails for good (503 on every attempt); initiate and the other parts succeed.
  ASSERT_TRUE(server->SetFaults({{"fail_rate", 1.0}, {"match", "^PUT .*partNumber=2&"}}).ok());
  config_.retry.max_attempts = 3;
  absl::Status failed = NewStore(config_)->Put("broken.bin", data);
  ASSERT_TRUE(server->SetFaults({{"fail_rate", 0}, {"match", ""}}).ok());
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  EXPECT_THAT(std::string(ToStd(failed.message())), HasSubstr("multipart upload aborted"));
  auto stats = server->Stats();
  EXPECT_EQ((*stats)["failed"], 3);
  EXPECT_EQ((*stats).value("aborts", 0), 1) << stats->dump();
  EXPECT_TRUE(absl::IsNotFound(store_->Head("broken.bin").status()));
  // The key is usable afterwards: nothing half-written is in the way.
  ASSERT_TRUE(store_->Put("broken.bin", data).ok());
  EXPECT_EQ(store_->Head("broken.bin")->size, data.size());
}

TEST_F(S3StoreTest, RetriesThroughSlowDownsAndDroppedConnections) {
  ASSERT_TRUE(server
                  ->SetFaults({{"fail_rate", 0.25},
                               {"drop_before_rate", 0.1},
                               {"drop_after_rate", 0.1},
                               {"seed", 11}})
                  .ok());
  config_.retry.max_attempts = 10;
  auto store = NewStore(config_);
  for (int i = 0; i < 20; ++i) {
    const std::string key = fmt::format("r/{}", i);
    ASSERT_TRUE(store->Put(key, fmt::format("value {}", i)).ok()) << key;
    auto back = store->Get(key);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, fmt::format("value {}", i));
  }
  auto listed = ListAll(*store, "r/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 20u);
  auto stats = server->Stats();
  EXPECT_GT((*stats)["failed"].get<int>(), 0);
  EXPECT_GT((*stats)["dropped"].get<int>(), 0);
}

TEST_F(S3StoreTest, DownloadsToFilesSurviveRetries) {
  const std::string data = Patterned(3 << 20);
  ASSERT_TRUE(store_->Put("dl/object.bin", data).ok());
  ASSERT_TRUE(
      server
          ->SetFaults(
              {{"fail_rate", 0.4}, {"drop_after_rate", 0.3}, {"seed", 21}, {"match", "^GET "}})
          .ok());
  config_.retry.max_attempts = 12;
  auto store = NewStore(config_);
  const std::string path = testing::TempDir() + "/loch-s3-download.bin";
  for (int i = 0; i < 5; ++i) {
    auto size = store->GetToFile("dl/object.bin", path);
    ASSERT_TRUE(size.ok()) << size.status();
    EXPECT_EQ(*size, data.size());
    std::ifstream in(path, std::ios::binary);
    EXPECT_EQ(Sha256Hex(std::string((std::istreambuf_iterator<char>(in)), {})), Sha256Hex(data));
  }
  EXPECT_GT((*server->Stats())["failed"].get<int>(), 0);
}

TEST_F(S3StoreTest, TimeoutsEndHungRequests) {
  ASSERT_TRUE(server->SetFaults({{"delay_ms", 2000}}).ok());
  config_.request_timeout = std::chrono::milliseconds(300);
  config_.retry.max_attempts = 2;
  Stopwatch watch;
  absl::Status status = NewStore(config_)->Put("slow", "x");
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_THAT(std::string(ToStd(status.message())), HasSubstr("s3://" + bucket_ + "/lake/slow"));
  EXPECT_LT(watch.ElapsedMillis(), 1900);
}

TEST_F(S3StoreTest, PreconditionFailedMeansAlreadyExists) {
  // A server that honours If-None-Match answers 412 when the key appeared between our HEAD and PUT.
  ASSERT_TRUE(server
                  ->SetFaults({{"fail_rate", 1.0},
                               {"match", "^PUT .*/raced$"},
                               {"fail_status", 412},
                               {"fail_code", "PreconditionFailed"}})
                  .ok());
  absl::Status status = store_->PutIfAbsent("raced", "x");
  EXPECT_TRUE(absl::IsAlreadyExists(status)) << status;
  EXPECT_EQ((*server->Stats())["failed"], 1);  // 412 is a client error: not retried
}

TEST_F(S3StoreTest, ErrorsNameBucketKeyAndS3Code) {
  S3Config missing = config_;
  missing.bucket = "no-such-bucket-loch";
  auto status = NewStore(missing)->Get("k").status();
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_THAT(std::string(ToStd(status.message())), HasSubstr("NoSuchBucket"));
  EXPECT_THAT(std::string(ToStd(status.message())), HasSubstr("s3://no-such-bucket-loch/lake/k"));
}

TEST_F(S3StoreTest, TheAwsSdkReadsWhatLochWrote) {
  std::map<std::string, std::string> written;
  for (int i = 0; i < 9; ++i)
    written[fmt::format("raw/shop/e/{}.json", i)] = Patterned(1000 + i * 777);
  written["raw/shop/e/big.bin"] = Patterned(6 << 20);  // multipart
  for (const auto& [key, data] : written) ASSERT_TRUE(store_->Put(key, data).ok());
  const std::string command =
      fmt::format("node {}/tests/support/s3_sdk_list.mjs {} {} {} '{}' {} lake/raw/",
                  LOCH_SOURCE_DIR, server->direct_endpoint(), S3TestServer::kRegion,
                  S3TestServer::kAccessKey, S3TestServer::kSecretKey, bucket_);
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << output;
  auto listed = nlohmann::json::parse(output);
  ASSERT_EQ(listed.size(), written.size());
  for (const auto& object : listed) {
    const std::string key = object["key"].get<std::string>().substr(std::string("lake/").size());
    ASSERT_TRUE(written.contains(key)) << key;
    EXPECT_EQ(object["size"], written[key].size());
    EXPECT_EQ(object["sha256"], Sha256Hex(written[key]));
  }
}

TEST(S3Config, UrlsEnvironmentAndAddressing) {
  std::map<std::string, std::string> env = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:9000/"},
                                            {"AWS_REGION", "eu-west-3"},
                                            {"AWS_ACCESS_KEY_ID", "AK"},
                                            {"AWS_SECRET_ACCESS_KEY", "SK"}};
  auto lookup = [&](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto config = S3ConfigFromUrl("s3://my-bucket/some/prefix/", lookup);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->bucket, "my-bucket");
  EXPECT_EQ(config->prefix, "some/prefix");
  EXPECT_EQ(config->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(config->region, "eu-west-3");
  EXPECT_TRUE(config->UsePathStyle());
  config->endpoint = "https://minio.example.com";
  EXPECT_FALSE(config->UsePathStyle());
  config->endpoint = "http://localhost:9000";
  EXPECT_TRUE(config->UsePathStyle());
  config->endpoint = "https://minio.example.com";
  config->addressing = S3Config::Addressing::kPath;
  EXPECT_TRUE(config->UsePathStyle());
  EXPECT_FALSE(S3ConfigFromUrl("s3://Bad_Bucket", lookup).ok());
  env.erase("AWS_SECRET_ACCESS_KEY");
  auto no_credentials = S3ConfigFromUrl("s3://my-bucket", lookup);
  EXPECT_THAT(std::string(ToStd(no_credentials.status().message())),
              HasSubstr("AWS_SECRET_ACCESS_KEY"));
}

TEST(RetryPolicy, BackoffGrowsIsCappedAndJittered) {
  RetryPolicy policy;
  policy.base_delay = std::chrono::milliseconds(100);
  policy.max_delay = std::chrono::milliseconds(1000);
  EXPECT_EQ(policy.DelayBefore(2, [] { return 0.999; }).count(), 99);
  EXPECT_EQ(policy.DelayBefore(4, [] { return 0.999; }).count(), 399);
  EXPECT_EQ(policy.DelayBefore(12, [] { return 0.999; }).count(), 999);
  EXPECT_EQ(policy.DelayBefore(5, [] { return 0.0; }).count(), 0);
  EXPECT_TRUE(IsRetryableHttpStatus(503));
  EXPECT_TRUE(IsRetryableHttpStatus(429));
  EXPECT_FALSE(IsRetryableHttpStatus(403));
  EXPECT_FALSE(IsRetryableHttpStatus(404));
}

}  // namespace
}  // namespace loch
