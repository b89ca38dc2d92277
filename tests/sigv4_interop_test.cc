// loch's SigV4 verifier and signer against the AWS SDK's own signer (@smithy/signature-v4 from
// npm) on randomized requests. tests/support/sigv4_random_requests.mjs has the SDK sign them
// (methods; paths with reserved characters, unicode, dot segments and double slashes; repeated and
// empty query keys; headers with inner runs of spaces and tabs, repeated headers, mixed-case names)
// and checks each against AWS's documented rules before printing it. Here each one must
//   - pass VerifySigV4 and name its service,
//   - fail VerifySigV4 once its body or one query value is changed,
//   - where the SDK signed exactly the headers sent (it never signs User-Agent, Connection, ...),
//     be signed by SignSigV4 (without its Authorization and X-Amz-Date) to the SDK's Authorization.
// The seed is LOCH_SIGV4_SEED if set, else random; it is printed on failure.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"
#include "server/sigv4.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

using testing_support::CommandOutcome;
using testing_support::RunCommand;

constexpr int kRequests = 500;
constexpr int kMinCompared = 100;
constexpr int64_t kSignedAt = 1440938160;  // 2015-08-30T12:36:00Z, when the script signs
constexpr char kAmzDate[] = "20150830T123600Z";
constexpr char kAccessKey[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kRegion[] = "us-east-1";

std::string Secret(const std::string& key) { return key == kAccessKey ? kSecret : ""; }

uint32_t Seed() {
  const char* value = std::getenv("LOCH_SIGV4_SEED");
  if (value != nullptr && *value != '\0') {
    return static_cast<uint32_t>(std::strtoull(value, nullptr, 10));
  }
  return std::random_device{}();
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// [[name, value], ...] as pairs of strings.
std::vector<std::pair<std::string, std::string>> Pairs(const nlohmann::json& array) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const nlohmann::json& pair : array) {
    pairs.emplace_back(pair.at(std::size_t{0}).get<std::string>(),
                       pair.at(std::size_t{1}).get<std::string>());
  }
  return pairs;
}

// The SignedHeaders list of an Authorization value ("" if it has none).
std::string SignedHeadersOf(const std::string& authorization) {
  const std::string key = "SignedHeaders=";
  const size_t at = authorization.find(key);
  if (at == std::string::npos) return "";
  const size_t start = at + key.size();
  return authorization.substr(start, authorization.find(',', start) - start);
}

TEST(SigV4Interop, LochAgreesWithTheAwsSdkSignerOnRandomRequests) {
  const uint32_t seed = Seed();
  SCOPED_TRACE("LOCH_SIGV4_SEED=" + std::to_string(seed));
  const CommandOutcome outcome =
      RunCommand("node",
                 {std::string(LOCH_SOURCE_DIR) + "/tests/support/sigv4_random_requests.mjs",
                  std::to_string(seed), std::to_string(kRequests)},
                 "NODE_NO_WARNINGS=1");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.err;

  std::istringstream lines(outcome.out);
  std::string line;
  int parsed = 0;
  int compared = 0;  // requests whose Authorization SignSigV4 had to reproduce
  while (std::getline(lines, line)) {
    SCOPED_TRACE("request " + std::to_string(parsed) + ": " + line);
    ++parsed;
    const nlohmann::json generated =
        nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(generated.is_object());
    const std::string service = generated.at("service").get<std::string>();
    const std::string authorization = generated.at("authorization").get<std::string>();
    const std::string body = generated.at("body").get<std::string>();
    SignedRequest request;
    request.method = generated.at("method").get<std::string>();
    request.path = generated.at("path_as_sent").get<std::string>();
    for (const auto& [name, value] : Pairs(generated.at("query"))) {
      request.query.emplace(name, value);
    }
    // A multimap keeps the order of equal names: repeated headers stay in the order sent.
    for (const auto& [name, value] : Pairs(generated.at("headers"))) {
      request.headers.emplace(name, value);
    }
    request.body = body;

    // (a) The SDK's signature verifies, for the service it signed for.
    const absl::StatusOr<SigV4Identity> identity = VerifySigV4(request, Secret, kSignedAt);
    ASSERT_TRUE(identity.ok()) << identity.status();
    EXPECT_EQ(identity->access_key_id, kAccessKey);
    EXPECT_EQ(identity->region, kRegion);
    EXPECT_EQ(identity->service, service);

    // (b) Not once the body or a query value changed (a query parameter added if there is none).
    const std::string other_body = body + "x";
    SignedRequest body_changed = request;
    body_changed.body = other_body;
    const absl::Status body_status = VerifySigV4(body_changed, Secret, kSignedAt).status();
    EXPECT_TRUE(absl::IsPermissionDenied(body_status)) << body_status;
    SignedRequest query_changed = request;
    if (query_changed.query.empty()) {
      query_changed.query.emplace("tampered", "");
    } else {
      auto victim = std::next(
          query_changed.query.begin(),
          static_cast<std::ptrdiff_t>(static_cast<size_t>(parsed) % query_changed.query.size()));
      victim->second += "x";
    }
    const absl::Status query_status = VerifySigV4(query_changed, Secret, kSignedAt).status();
    EXPECT_TRUE(absl::IsPermissionDenied(query_status)) << query_status;

    // (c) SignSigV4 signs every header it is given, plus X-Amz-Date: where the SDK signed exactly
    // those, it must produce the SDK's Authorization. Its own signature must verify in any case.
    SignedRequest unsigned_request = request;
    unsigned_request.headers.clear();
    std::set<std::string> names = {"x-amz-date"};
    for (const auto& [name, value] : request.headers) {
      const std::string lower = Lower(name);
      if (lower == "authorization" || lower == "x-amz-date") continue;
      unsigned_request.headers.emplace(name, value);
      names.insert(lower);
    }
    std::string present;
    for (const std::string& name : names) present += (present.empty() ? "" : ";") + name;
    const std::multimap<std::string, std::string> added =
        SignSigV4(unsigned_request, kAccessKey, kSecret, kRegion, service, kSignedAt);
    const auto date = added.find("X-Amz-Date");
    const auto signed_by_loch = added.find("Authorization");
    ASSERT_TRUE(date != added.end());
    ASSERT_TRUE(signed_by_loch != added.end());
    EXPECT_EQ(date->second, kAmzDate);
    if (SignedHeadersOf(authorization) == present) {
      ++compared;
      EXPECT_EQ(signed_by_loch->second, authorization);
    }
    SignedRequest resigned = unsigned_request;
    for (const auto& header : added) resigned.headers.insert(header);
    const absl::StatusOr<SigV4Identity> reverified = VerifySigV4(resigned, Secret, kSignedAt);
    EXPECT_TRUE(reverified.ok()) << reverified.status();

    if (::testing::Test::HasFailure()) break;  // one failing request is enough to read
  }
  if (::testing::Test::HasFailure()) return;
  EXPECT_EQ(parsed, kRequests) << outcome.err;
  // The script makes about two thirds of its requests comparable (350 of 500 for most seeds).
  EXPECT_GE(compared, kMinCompared) << "of " << parsed << " requests";
}

}  // namespace
}  // namespace loch
