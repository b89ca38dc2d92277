#include "generate/store_generator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ids.h"
#include "common/test_dir.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string TreeDigest(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::string all;
  for (const auto& file : files) all += fs::relative(file, root).string() + "\n" + ReadAll(file);
  return all;
}

fs::path Generate(uint64_t seed, int64_t events, double dirty = 0) {
  static TestDir scratch("loch-gen");  // removed when the test program exits
  fs::path out = fs::path(scratch.path()) / NewRandomId();
  GeneratorOptions options;
  options.out_dir = out.string();
  options.events = events;
  options.seed = seed;
  options.dirty_fraction = dirty;
  options.days = 5;
  auto summary = GenerateStore(options);
  EXPECT_TRUE(summary.ok()) << summary.status();
  return out;
}

TEST(StoreGenerator, SameSeedSameBytesOtherSeedOtherData) {
  std::string a = TreeDigest(Generate(7, 5000));
  std::string b = TreeDigest(Generate(7, 5000));
  std::string c = TreeDigest(Generate(8, 5000));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(StoreGenerator, ExpectedAnswersAgreeWithTheFiles) {
  fs::path out = Generate(1, 20000);
  auto expected = nlohmann::json::parse(ReadAll(out / "expected.json"));
  // Count what the files say, independently of the generator's own bookkeeping.
  int64_t events = 0, purchases = 0, views = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out / "events")) {
    if (!entry.is_regular_file()) continue;
    EXPECT_EQ(entry.path().parent_path().filename().string().rfind("day=", 0), 0u);
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      auto event = nlohmann::json::parse(line);
      ++events;
      purchases += event["event_type"] == "purchase";
      views += event["event_type"] == "view";
    }
  }
  int64_t orders = 0, revenue_cents = 0;
  std::ifstream in(out / "orders.json");
  for (std::string line; std::getline(in, line);) {
    auto order = nlohmann::json::parse(line);
    ++orders;
    revenue_cents += static_cast<int64_t>(std::llround(order["amount"].get<double>() * 100));
  }
  EXPECT_GE(events, 20000);
  EXPECT_EQ(expected["summary"]["events"], events);
  EXPECT_EQ(expected["funnel"]["purchase"], purchases);
  EXPECT_EQ(expected["funnel"]["view"], views);
  EXPECT_EQ(purchases, orders);
  int64_t expected_revenue = 0;
  for (const auto& day : expected["revenue_per_day"])
    expected_revenue += day["revenue_cents"].get<int64_t>();
  EXPECT_EQ(expected_revenue, revenue_cents);
  const auto& funnel = expected["funnel"];
  EXPECT_GE(funnel["view"], funnel["click"]);
  EXPECT_GE(funnel["click"], funnel["add_to_cart"]);
  EXPECT_GE(funnel["add_to_cart"], funnel["purchase"]);
  EXPECT_GT(funnel["purchase"], 0);
}

TEST(StoreGenerator, DirtyRecordsAreExtraAndMarked) {
  fs::path out = Generate(3, 10000, 0.05);
  auto expected = nlohmann::json::parse(ReadAll(out / "expected.json"));
  int64_t dirty = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (!entry.is_regular_file() || entry.path().filename() == "expected.json") continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);)
      dirty += line.find("\"dirty\":true") != std::string::npos;
  }
  EXPECT_EQ(expected["summary"]["dirty_records"], dirty);
  EXPECT_NEAR(static_cast<double>(dirty), 0.05 * expected["summary"]["events"].get<double>(), 50);
}

TEST(StoreGenerator, RejectsBadOptions) {
  GeneratorOptions options;
  options.out_dir = testing::TempDir();
  options.dirty_fraction = 2;
  EXPECT_TRUE(absl::IsInvalidArgument(GenerateStore(options).status()));
  options.dirty_fraction = 0;
  options.events = 0;
  EXPECT_TRUE(absl::IsInvalidArgument(GenerateStore(options).status()));
}

}  // namespace
}  // namespace loch
