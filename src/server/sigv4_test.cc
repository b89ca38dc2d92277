#include "server/sigv4.h"

#include <gtest/gtest.h>

#include <ctime>

namespace loch {
namespace {

// AWS's published SigV4 test suite, case "get-vanilla".
SignedRequest GetVanilla() {
  SignedRequest request;
  request.method = "GET";
  request.path = "/";
  request.headers = {
      {"Host", "example.amazonaws.com"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"Authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
       "SignedHeaders=host;x-amz-date, "
       "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"}};
  return request;
}

std::string Secret(const std::string& key) {
  return key == "AKIDEXAMPLE" ? "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" : "";
}

constexpr int64_t kSignedAt = 1440938160;  // 2015-08-30T12:36:00Z

TEST(SigV4, AcceptsTheAwsTestVector) {
  auto identity = VerifySigV4(GetVanilla(), Secret, kSignedAt + 60);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(identity->region, "us-east-1");
  EXPECT_EQ(identity->service, "service");
}

TEST(SigV4, RejectsTamperingUnknownKeysAndStaleRequests) {
  SignedRequest tampered = GetVanilla();
  tampered.path = "/other";
  EXPECT_TRUE(absl::IsPermissionDenied(VerifySigV4(tampered, Secret, kSignedAt).status()));
  SignedRequest body = GetVanilla();
  body.body = "extra";
  EXPECT_TRUE(absl::IsPermissionDenied(VerifySigV4(body, Secret, kSignedAt).status()));
  EXPECT_TRUE(absl::IsPermissionDenied(
      VerifySigV4(
          GetVanilla(), [](const std::string&) { return std::string(); }, kSignedAt)
          .status()));
  EXPECT_TRUE(
      absl::IsPermissionDenied(VerifySigV4(GetVanilla(), Secret, kSignedAt + 3600).status()));
  SignedRequest missing = GetVanilla();
  missing.headers.erase("Authorization");
  EXPECT_TRUE(absl::IsUnauthenticated(VerifySigV4(missing, Secret, kSignedAt).status()));
  SignedRequest garbage = GetVanilla();
  garbage.headers.erase("Authorization");
  garbage.headers.emplace("Authorization", "AWS4-HMAC-SHA256 nonsense");
  EXPECT_TRUE(absl::IsUnauthenticated(VerifySigV4(garbage, Secret, kSignedAt).status()));
}

TEST(SigV4, SigningReproducesTheAwsTestVectorAndVerifies) {
  SignedRequest request;
  request.method = "GET";
  request.path = "/";
  request.headers = {{"Host", "example.amazonaws.com"}};
  const auto added =
      SignSigV4(request, "AKIDEXAMPLE", Secret("AKIDEXAMPLE"), "us-east-1", "service", kSignedAt);
  auto authorization = added.find("Authorization");
  ASSERT_NE(authorization, added.end());
  EXPECT_EQ(authorization->second,
            GetVanilla().headers.find("Authorization")->second);  // AWS's own signature
  SignedRequest post;
  post.method = "POST";
  post.path = "/";
  post.body = R"({"DeliveryStreamName": "s"})";
  post.headers = {{"Host", "127.0.0.1:8080"}, {"X-Amz-Target", "Firehose_20150804.PutRecord"}};
  for (const auto& header :
       SignSigV4(post, "AKIDEXAMPLE", Secret("AKIDEXAMPLE"), "us-east-1", "firehose", kSignedAt)) {
    post.headers.insert(header);
  }
  EXPECT_TRUE(VerifySigV4(post, Secret, kSignedAt).ok());
}

}  // namespace
}  // namespace loch
