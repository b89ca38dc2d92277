#include "engine/json_shape.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/ids.h"
#include "engine/test_lake.h"
#include "fmt/format.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

uint8_t KindsOf(const JsonShape& shape, const std::string& key) {
  auto it = shape.keys.find(key);
  return it == shape.keys.end() ? 0 : it->second.kinds;
}

TEST(JsonShape, KeysAndKindsOfEveryRecord) {
  auto shape = ShapeOfNdjson(
      "{\"id\": 1, \"price\": 2.5, \"name\": \"a\", \"ok\": true, \"tags\": [1], \"at\": null}\n"
      "{\"id\": -7, \"price\": 3, \"name\": null, \"nested\": {\"x\": 1}, \"big\": "
      "18446744073709551615}");
  ASSERT_TRUE(shape.has_value());
  EXPECT_EQ(shape->keys.size(), 8u);
  EXPECT_EQ(KindsOf(*shape, "id"), JsonShape::kInteger);
  EXPECT_EQ(KindsOf(*shape, "price"), JsonShape::kFloat | JsonShape::kInteger);
  EXPECT_EQ(KindsOf(*shape, "name"), JsonShape::kString | JsonShape::kNull);
  EXPECT_EQ(KindsOf(*shape, "ok"), JsonShape::kBool);
  EXPECT_EQ(KindsOf(*shape, "tags"), JsonShape::kOther);
  EXPECT_EQ(KindsOf(*shape, "at"), JsonShape::kNull);
  EXPECT_EQ(KindsOf(*shape, "nested"), JsonShape::kOther);
  EXPECT_EQ(KindsOf(*shape, "big"), JsonShape::kOther);  // beyond BIGINT
  // The last line had no line break; the head still ends with one.
  EXPECT_TRUE(shape->head.ends_with("18446744073709551615}\n"));
}

TEST(JsonShape, AnythingButOneObjectPerLineHasNoShape) {
  EXPECT_FALSE(ShapeOfNdjson("").has_value());
  EXPECT_FALSE(ShapeOfNdjson("\n\n").has_value());
  EXPECT_FALSE(ShapeOfNdjson("{\"a\": 1}\n[1, 2]\n").has_value());
  EXPECT_FALSE(ShapeOfNdjson("{\"a\": 1}\n42\n").has_value());
  EXPECT_FALSE(ShapeOfNdjson("{\"a\": 1} {\"a\": 2}\n").has_value());  // two on one line
  EXPECT_FALSE(ShapeOfNdjson("{\"a\": 1}\n{\"a\": \n").has_value());   // cut
  EXPECT_FALSE(ShapeOfNdjson("{\"a\": 1}\nnot json\n").has_value());
  EXPECT_TRUE(ShapeOfNdjson("{\"a\": 1}\r\n\n{\"a\": 2}\n").has_value());  // blank lines are fine
}

TEST(JsonShape, HeadIsTheFirstThousandRecords) {
  std::string ndjson;
  for (int i = 0; i < 1500; ++i) ndjson += fmt::format("{{\"n\": {}}}\n", i);
  auto shape = ShapeOfNdjson(ndjson);
  ASSERT_TRUE(shape.has_value());
  EXPECT_TRUE(shape->head.ends_with("{\"n\": 999}\n"));
  EXPECT_TRUE(shape->head.starts_with("{\"n\": 0}\n"));
}

TEST(JsonShape, SampledTypesHoldOnlyWhenEveryValueFits) {
  std::string ndjson;
  for (int i = 0; i < 1200; ++i) {
    ndjson += fmt::format(
        "{{\"id\": {}, \"score\": {}, \"name\": \"n{}\", \"ok\": true, \"ts\": "
        "\"2026-11-{:02}T10:00:00Z\"}}\n",
        i, i, i, 1 + i % 28);
  }
  auto same = ShapeOfNdjson(ndjson);
  ASSERT_TRUE(same.has_value());
  const std::vector<Column> sampled = {{"id", "BIGINT"},
                                       {"score", "DOUBLE"},  // integers read as DOUBLE losslessly
                                       {"name", "VARCHAR"},
                                       {"ok", "BOOLEAN"},
                                       {"ts", "TIMESTAMP"}};
  EXPECT_TRUE(SampledTypesHold(*same, sampled));

  auto with = [&](const std::string& last) { return *ShapeOfNdjson(ndjson + last + "\n"); };
  // A fraction after the head would be rounded by a BIGINT read.
  EXPECT_FALSE(SampledTypesHold(with(R"({"id": 1.5})"), sampled));
  EXPECT_FALSE(SampledTypesHold(with(R"({"name": 7})"), sampled));
  EXPECT_FALSE(SampledTypesHold(with(R"({"ok": "yes"})"), sampled));
  EXPECT_FALSE(SampledTypesHold(with(R"({"score": [1]})"), sampled));
  // A key the head never had; a datetime shaped unlike the head's (an offset a TIMESTAMP read
  // would drop).
  EXPECT_FALSE(SampledTypesHold(with(R"({"later": 1})"), sampled));
  EXPECT_FALSE(SampledTypesHold(with(R"({"ts": "2026-11-27T10:00:00+05:00"})"), sampled));
  // Nulls fit any type; a datetime shaped like the head's keeps the type.
  EXPECT_TRUE(SampledTypesHold(with(R"({"id": null, "ts": "2026-12-31T23:59:59Z"})"), sampled));
  // Types the shape cannot vouch for.
  std::vector<Column> other = sampled;
  other[0].type = "JSON";
  EXPECT_FALSE(SampledTypesHold(*same, other));
  std::vector<Column> fewer(sampled.begin(), sampled.end() - 1);
  EXPECT_FALSE(SampledTypesHold(*same, fewer));
}

// With a shape, profiling reads the object once less, and finds what profiling without one finds.
class ShapedProfileTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::path(testing::TempDir()) / ("loch-shape-" + NewRandomId())).string();
    lake_ = OpenTestLake(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // Profiles `ndjson` stored at `key` with and without its shape; both must agree.
  FileProfile ProfileBothWays(const std::string& key, const std::string& ndjson) {
    EXPECT_TRUE(lake_.store->Put(key, ndjson).ok());
    auto shape = ShapeOfNdjson(ndjson);
    EXPECT_TRUE(shape.has_value());
    auto shaped = lake_.engine->ProfileFile(key, "json", &*shape);
    auto plain = lake_.engine->ProfileFile(key, "json");
    EXPECT_TRUE(shaped.ok()) << shaped.status();
    EXPECT_TRUE(plain.ok()) << plain.status();
    if (!shaped.ok() || !plain.ok()) return {};
    EXPECT_EQ(shaped->columns, plain->columns);
    EXPECT_EQ(shaped->row_count, plain->row_count);
    EXPECT_EQ(shaped->stats.size(), plain->stats.size());
    for (size_t i = 0; i < std::min(shaped->stats.size(), plain->stats.size()); ++i) {
      EXPECT_EQ(shaped->stats[i].column, plain->stats[i].column);
      EXPECT_EQ(shaped->stats[i].min, plain->stats[i].min) << shaped->stats[i].column;
      EXPECT_EQ(shaped->stats[i].max, plain->stats[i].max) << shaped->stats[i].column;
      EXPECT_EQ(shaped->stats[i].null_count, plain->stats[i].null_count);
    }
    EXPECT_EQ(shaped->typed_text.size(), plain->typed_text.size());
    return *shaped;
  }

  std::string root_;
  TestLake lake_;
};

std::string Records(int count, const std::string& last) {
  std::string ndjson;
  for (int i = 0; i < count; ++i) {
    ndjson += fmt::format(
        "{{\"id\": {}, \"user\": \"u{}\", \"at\": \"2026-11-{:02}T10:{:02}:00Z\", \"when\": "
        "\"11/{:02}/2026\"}}\n",
        i, i % 7, 1 + i % 28, i % 60, 1 + i % 28);
  }
  return ndjson + last;
}

TEST_F(ShapedProfileTest, SameProfileWhenTheSampleHolds) {
  const FileProfile profile = ProfileBothWays("raw/a/one.json", Records(3000, ""));
  ASSERT_EQ(profile.columns.size(), 4u);
  EXPECT_EQ(profile.columns[0].type, "BIGINT");
  EXPECT_EQ(profile.row_count, 3000);
  EXPECT_EQ(profile.typed_text.count("when"), 1u);  // loch's own datetime detection still runs
}

TEST_F(ShapedProfileTest, SameProfileWhenRecordsAfterTheSampleDiffer) {
  // Each last record would be read wrongly with the head's types; the profile sniffs every record.
  const FileProfile wider =
      ProfileBothWays("raw/a/wider.json", Records(3000, "{\"id\": 2.5, \"user\": \"x\"}\n"));
  EXPECT_EQ(wider.columns[0].type, "DOUBLE");
  const FileProfile zoned = ProfileBothWays(
      "raw/a/zoned.json", Records(3000, "{\"id\": 1, \"at\": \"2026-11-01T10:00:00+05:00\"}\n"));
  EXPECT_EQ(zoned.columns[2].type, "VARCHAR");
  const FileProfile added =
      ProfileBothWays("raw/a/added.json", Records(3000, "{\"id\": 1, \"extra\": true}\n"));
  EXPECT_EQ(added.columns.size(), 5u);
  // Shaped like the head's datetimes but no valid date: the typed read fails, the profile reads
  // the object again without the sample's types.
  const FileProfile invalid = ProfileBothWays(
      "raw/a/invalid.json", Records(3000, "{\"id\": 1, \"at\": \"2026-13-45T10:00:00Z\"}\n"));
  EXPECT_EQ(invalid.columns[2].type, "VARCHAR");
}

TEST_F(ShapedProfileTest, ManyObjectsTogether) {
  std::vector<std::string> keys;
  std::vector<std::optional<JsonShape>> shapes;
  for (int i = 0; i < 3; ++i) {
    const std::string ndjson = Records(1500, i == 2 ? "{\"id\": 0.5}\n" : "");
    keys.push_back(fmt::format("raw/b/{}.json", i));
    ASSERT_TRUE(lake_.store->Put(keys.back(), ndjson).ok());
    shapes.push_back(ShapeOfNdjson(ndjson));
  }
  std::vector<const JsonShape*> pointers;
  for (const auto& shape : shapes) pointers.push_back(&*shape);
  auto shaped = lake_.engine->ProfileFiles(keys, "json", pointers);
  auto plain = lake_.engine->ProfileFiles(keys, "json");
  ASSERT_EQ(shaped.size(), 3u);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(shaped[i].ok()) << shaped[i].status();
    ASSERT_TRUE(plain[i].ok());
    EXPECT_EQ(shaped[i]->columns, plain[i]->columns) << keys[i];
    EXPECT_EQ(shaped[i]->row_count, plain[i]->row_count);
  }
  EXPECT_EQ(shaped[2]->columns[0].type, "DOUBLE");
}

}  // namespace
}  // namespace loch
