#include "ingest/delivery_batcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include "nlohmann/json.hpp"

namespace loch {
namespace {

using ::testing::HasSubstr;

// 2026-11-26 10:15:00 UTC
constexpr int64_t kTen = 1795688100LL * 1000000;
constexpr int64_t kHour = 3600LL * 1000000;

std::string Unzstd(const std::string& data) {
  std::string out(ZSTD_getFrameContentSize(data.data(), data.size()), '\0');
  out.resize(ZSTD_decompress(out.data(), out.size(), data.data(), data.size()));
  return out;
}

StreamConfig Stream(std::vector<std::string> partition_by = {}) {
  StreamConfig config;
  config.name = "click-stream";
  config.partition_by = std::move(partition_by);
  config.buffer_bytes = 1 << 20;
  config.buffer_seconds = 60;
  return config;
}

TEST(StreamConfigTest, ValidatesAndRoundTrips) {
  auto config = StreamConfigFromJson({{"name", "orders-eu"},
                                      {"compression", "gzip"},
                                      {"buffer_seconds", 0},
                                      {"partition_by", {"region"}}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->TableName(), "raw.orders_eu");
  EXPECT_EQ(config->compression, Compression::kGzip);
  EXPECT_EQ(StreamConfigFromJson(StreamConfigToJson(*config))->partition_by,
            std::vector<std::string>{"region"});
  EXPECT_THAT(std::string(StreamConfigFromJson({{"name", "a/b"}}).status().message()),
              HasSubstr("stream name"));
  EXPECT_THAT(
      std::string(StreamConfigFromJson({{"name", "a"}, {"buffer_bytes", 1}}).status().message()),
      HasSubstr("1-128 MiB"));
  EXPECT_THAT(
      std::string(
          StreamConfigFromJson({{"name", "a"}, {"buffer_seconds", 901}}).status().message()),
      HasSubstr("0-900"));
  EXPECT_FALSE(StreamConfigFromJson({{"name", "a"}, {"compression", "lz4"}}).ok());
  EXPECT_FALSE(StreamConfigFromJson({{"name", "a"}, {"buffer_bytes", "big"}}).ok());
  EXPECT_THAT(
      std::string(
          StreamConfigFromJson({{"name", "a"}, {"parquet_table", "no_dot"}}).status().message()),
      HasSubstr("parquet table"));
  EXPECT_EQ(StreamConfigFromJson({{"name", "a"}, {"parquet_table", "shop.typed"}})->parquet_table,
            "shop.typed");
}

TEST(DeliveryBatcherTest, ObjectsAreNamedByHourAndFirstSequence) {
  DeliveryBatcher batcher(Stream());
  batcher.Add({1, kTen, R"({"a": 1})"});
  batcher.Add({2, kTen + 1000, R"({"a": 2})"});
  batcher.Add({3, kTen + kHour, R"({"a": 3})"});  // the next hour: its own object
  auto objects = batcher.TakeAll();
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].key,
            "raw/click-stream/2026/11/26/10/click-stream-00000000000000000001.json.zst");
  ASSERT_TRUE(CompressObject(objects[0], Compression::kZstd).ok());
  EXPECT_EQ(Unzstd(objects[0].body), "{\"a\": 1}\n{\"a\": 2}\n");
  EXPECT_EQ(objects[0].records, 2u);
  EXPECT_EQ(objects[0].last_sequence, 2u);
  EXPECT_EQ(objects[0].partition_values.at("hour"), "10");
  EXPECT_EQ(objects[1].key,
            "raw/click-stream/2026/11/26/11/click-stream-00000000000000000003.json.zst");
  EXPECT_TRUE(batcher.empty());
}

TEST(DeliveryBatcherTest, PartitionsByFieldsAndRoutesBadRecordsToErrors) {
  StreamConfig config = Stream({"region"});
  config.compression = Compression::kNone;
  DeliveryBatcher batcher(config);
  batcher.Add({1, kTen, R"({"region": "eu", "v": 1})"});
  batcher.Add({2, kTen, R"({"region": "us/east", "v": 2})"});
  batcher.Add({3, kTen, R"({"v": 3})"});
  batcher.Add({4, kTen, "not json"});
  batcher.Add({5, kTen, R"({"region": "eu", "v": 5})"});
  std::map<std::string, DeliveryObject> by_key;
  for (auto& object : batcher.TakeAll()) by_key[object.key] = object;
  ASSERT_EQ(by_key.size(), 3u);
  const auto& eu =
      by_key.at("raw/click-stream/region=eu/2026/11/26/10/click-stream-00000000000000000001.json");
  EXPECT_EQ(eu.ndjson, "{\"region\": \"eu\", \"v\": 1}\n{\"region\": \"eu\", \"v\": 5}\n");
  EXPECT_EQ(eu.partition_values.at("region"), "eu");
  EXPECT_TRUE(by_key.contains(
      "raw/click-stream/region=us%2Feast/2026/11/26/10/click-stream-00000000000000000002.json"));
  const auto& errors =
      by_key.at("raw/click-stream/errors/2026/11/26/10/click-stream-00000000000000000003.json");
  EXPECT_TRUE(errors.errors);
  EXPECT_EQ(errors.records, 2u);
  EXPECT_THAT(errors.ndjson, HasSubstr("partition field \\\"region\\\" is missing"));
  EXPECT_THAT(errors.ndjson, HasSubstr("\"error\":\"not valid JSON\""));
  EXPECT_THAT(errors.ndjson, HasSubstr("\"data\":\"not json\""));
}

TEST(DeliveryBatcherTest, FlushesWhenFullOldOrTooSpread) {
  StreamConfig config = Stream({"k"});
  config.max_open_partitions = 2;
  DeliveryBatcher batcher(config);
  EXPECT_FALSE(batcher.ShouldFlush(kTen));
  batcher.Add({1, kTen, R"({"k": 1})"});
  EXPECT_FALSE(batcher.ShouldFlush(kTen + 59 * 1000000LL));
  EXPECT_TRUE(batcher.ShouldFlush(kTen + 60 * 1000000LL));  // the interval
  batcher.Add({2, kTen, R"({"k": 2})"});
  EXPECT_FALSE(batcher.ShouldFlush(kTen));
  batcher.Add({3, kTen, R"({"k": 3})"});
  EXPECT_TRUE(batcher.ShouldFlush(kTen));  // three partitions open, two allowed
  EXPECT_EQ(batcher.TakeAll().size(), 3u);
  batcher.Add({4, kTen, R"({"k": 1, "pad": ")" + std::string(1 << 20, 'x') + "\"}"});
  EXPECT_TRUE(batcher.ShouldFlush(kTen));  // the size
}

TEST(DeliveryBatcherTest, AFullBufferIsSealedAndItsDestinationStartsAnother) {
  DeliveryBatcher batcher(Stream());  // 1 MiB buffers
  const std::string pad(600 << 10, 'x');
  for (uint64_t i = 1; i <= 3; ++i)
    batcher.Add({i, kTen, "{\"i\": " + std::to_string(i) + ", \"pad\": \"" + pad + "\"}"});
  EXPECT_TRUE(batcher.ShouldFlush(kTen));
  std::vector<std::string> keys;
  for (const DeliveryObject& object : batcher.TakeAll()) {
    keys.push_back(object.key.substr(object.key.rfind('-') + 1));
    EXPECT_EQ(object.records, 1u);
    EXPECT_LE(object.ndjson.size(), 1u << 20);
  }
  EXPECT_THAT(keys, testing::UnorderedElementsAre("00000000000000000001.json.zst",
                                                  "00000000000000000002.json.zst",
                                                  "00000000000000000003.json.zst"));
  EXPECT_TRUE(batcher.empty());
}

TEST(DeliveryBatcherTest, TheSameRecordsGiveTheSameObjects) {
  auto deliver = [] {
    StreamConfig config = Stream();
    config.compression = Compression::kGzip;
    DeliveryBatcher batcher(config, "tag");
    for (uint64_t i = 1; i <= 100; ++i)
      batcher.Add({i, kTen + static_cast<int64_t>(i), "{\"i\": " + std::to_string(i) + "}"});
    auto objects = batcher.TakeAll();
    for (auto& object : objects) EXPECT_TRUE(CompressObject(object, config.compression).ok());
    return objects;
  };
  const auto first = deliver(), second = deliver();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].key, second[0].key);
  EXPECT_EQ(first[0].key,
            "raw/click-stream/2026/11/26/10/click-stream-tag-00000000000000000001.json.gz");
  EXPECT_EQ(first[0].body, second[0].body);
  std::string plain(1 << 16, '\0');
  uLongf size = plain.size();
  z_stream stream{};
  inflateInit2(&stream, 15 + 16);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(first[0].body.data()));
  stream.avail_in = static_cast<uInt>(first[0].body.size());
  stream.next_out = reinterpret_cast<Bytef*>(plain.data());
  stream.avail_out = static_cast<uInt>(size);
  ASSERT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  plain.resize(stream.total_out);
  inflateEnd(&stream);
  EXPECT_THAT(plain, testing::StartsWith("{\"i\": 1}\n{\"i\": 2}\n"));
}

}  // namespace
}  // namespace loch
