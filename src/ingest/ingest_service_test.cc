#include "ingest/ingest_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/ids.h"
#include "common/test_dir.h"
#include "common/strings.h"
#include "engine/query_test_support.h"
#include "engine/test_lake.h"
#include "fmt/format.h"
#include "ingest/file_size_limit.h"
#include "storage/local_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class IngestServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    TestLake lake = OpenTestLake(root_);
    store_ = std::move(lake.store);
    catalog_ = std::move(lake.catalog);
    engine_ = std::move(lake.engine);
    crawler_ = std::make_unique<Crawler>(*catalog_, *store_, *engine_);
    options_.wal_dir = root_ + "/.loch/wal";
    options_.min_free_disk_bytes = 1 << 20;
    StartService();
  }

  void StartService() {
    service_.reset();
    auto started = IngestService::Start(*catalog_, *store_, *engine_, *crawler_, options_);
    ASSERT_TRUE(started.ok()) << started.status();
    service_ = std::move(*started);
  }

  static StreamConfig Stream(std::string name = "clicks") {
    StreamConfig config;
    config.name = std::move(name);
    config.buffer_seconds = 900;  // flushed by the tests
    return config;
  }

  std::vector<PutRecordResult> Put(const std::string& stream,
                                   const std::vector<std::string>& records) {
    std::vector<std::string_view> views(records.begin(), records.end());
    auto results = service_->Put(admin_, stream, views);
    EXPECT_TRUE(results.ok()) << results.status();
    return results.ok() ? *results : std::vector<PutRecordResult>{};
  }

  std::string Scalar(const std::string& sql) { return FirstCell(*engine_, sql); }

  // The value of one series of PrometheusMetrics(), e.g. `loch_ingest_pending_bytes`; -1 if absent.
  double MetricValue(const std::string& series) {
    std::istringstream lines(service_->PrometheusMetrics());
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
  }

  TestDir scratch_{"loch-ingest"};
  std::string root_ = scratch_ / "lake";
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LakeEngine> engine_;
  std::unique_ptr<Crawler> crawler_;
  IngestOptions options_;
  std::unique_ptr<IngestService> service_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(IngestServiceTest, AcknowledgedRecordsBecomeATableWithNewFieldsAsColumns) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream("click-events")).ok());
  auto results = Put("click-events", {R"({"user": "ann", "v": 1})", R"({"user": "bob", "v": 2})"});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].status.ok());
  EXPECT_FALSE(results[0].record_id.empty());
  EXPECT_NE(results[0].record_id, results[1].record_id);
  ASSERT_TRUE(service_->Flush(admin_, "click-events").ok());
  EXPECT_EQ(Scalar("SELECT count(*) || ':' || sum(v) FROM raw.click_events"), "2:3");

  Put("click-events", {R"({"user": "cy", "v": 3, "country": "fr"})"});
  ASSERT_TRUE(service_->Flush(admin_, "click-events").ok());
  EXPECT_EQ(Scalar("SELECT count(*) || ':' || count(country) FROM raw.click_events"), "3:1");
  auto described = service_->DescribeStream(admin_, "click-events");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->delivered_through, 3u);
  EXPECT_EQ(described->buffered_bytes, 0u);
  EXPECT_EQ(catalog_->GetStream(admin_, "click-events")->delivered_through, 3);
  const std::string metrics = service_->PrometheusMetrics();
  EXPECT_THAT(metrics, HasSubstr("loch_ingest_records_accepted_total{stream=\"click-events\"} 3"));
  EXPECT_THAT(metrics, HasSubstr("loch_ingest_flushes_total{stream=\"click-events\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE loch_wal_fsyncs_total counter"));
}

TEST_F(IngestServiceTest, AnOversizedRecordFailsAloneAndUnknownStreamsAreNamed) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream()).ok());
  auto results = Put("clicks", {R"({"a": 1})", std::string(1000 * 1024 + 1, 'x'), R"({"a": 2})"});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].status.ok());
  EXPECT_EQ(results[1].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(results[1].status.message()), HasSubstr("over the limit of 1024000"));
  EXPECT_TRUE(results[2].status.ok());
  ASSERT_TRUE(service_->Flush(admin_, "clicks").ok());
  EXPECT_EQ(Scalar("SELECT sum(a) FROM raw.clicks"), "3");

  auto unknown = service_->Put(admin_, "nope", {"{}"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("streams: clicks"));
  EXPECT_EQ(service_->CreateStream(admin_, Stream()).status().code(),
            absl::StatusCode::kAlreadyExists);
  StreamConfig bad = Stream("bad/name");
  EXPECT_EQ(service_->CreateStream(admin_, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(IngestServiceTest, BackpressureRefusesWholeCallsAndAcknowledgesNothing) {
  options_.max_pending_bytes = 100;
  StartService();
  ASSERT_TRUE(service_->CreateStream(admin_, Stream()).ok());
  Put("clicks", {std::string(R"({"pad": ")") + std::string(60, 'x') + "\"}"});
  auto refused = service_->Put(admin_, "clicks", {R"({"pad": "more than the forty left"})"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("delivery is behind"));
  EXPECT_EQ(service_->DescribeStream(admin_, "clicks")->last_sequence, 1u);
  ASSERT_TRUE(service_->Flush(admin_, "clicks").ok());  // delivering frees the room
  EXPECT_EQ(Put("clicks", {R"({"pad": "now it fits"})"}).size(), 1u);
  EXPECT_THAT(service_->PrometheusMetrics(),
              HasSubstr("loch_ingest_backpressure_rejections_total 1"));

  options_.min_free_disk_bytes = UINT64_MAX / 2;  // more than any disk has free
  StartService();
  auto full = service_->Put(admin_, "clicks", {"{}"});
  EXPECT_EQ(full.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(full.status().message()), HasSubstr("disk"));
}

// The log's disk fills up in the middle of a put: that put is refused, nothing acknowledged is
// lost, and puts work again once there is room.
TEST_F(IngestServiceTest, AFullLogDiskRefusesPutsUntilThereIsRoomAgain) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream()).ok());
  Put("clicks", {R"({"i": 1})"});
  const double fsyncs_before = MetricValue("loch_wal_fsyncs_total{stream=\"clicks\"}");
  ASSERT_GE(fsyncs_before, 1);
  uintmax_t used = 0;
  for (const auto& entry : fs::recursive_directory_iterator(options_.wal_dir)) {
    if (entry.is_regular_file()) used = std::max(used, entry.file_size());
  }
  absl::StatusOr<std::vector<PutRecordResult>> full, still_full;
  {
    FileSizeLimit disk_full(used + 30);
    ASSERT_TRUE(disk_full.applied());
    full = service_->Put(admin_, "clicks", {"{\"pad\": \"" + std::string(100, 'x') + "\"}"});
    still_full = service_->Put(admin_, "clicks", {std::string(R"({"i": 2})")});
  }
  EXPECT_EQ(full.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(full.status().message()), HasSubstr("could not be made durable"));
  EXPECT_EQ(still_full.status().code(), absl::StatusCode::kUnavailable);

  Put("clicks", {R"({"i": 3})"});  // room again: the log is reopened
  ASSERT_TRUE(service_->Flush(admin_, "clicks").ok());
  EXPECT_EQ(Scalar("SELECT string_agg(i::VARCHAR, ',' ORDER BY i) FROM raw.clicks"), "1,3");
  // The reopened log's counters carry on from the failed ones' (counters never go back).
  EXPECT_GE(MetricValue("loch_wal_fsyncs_total{stream=\"clicks\"}"), fsyncs_before + 1);
}

TEST_F(IngestServiceTest, AStopDeliversAndARestartContinuesTheSequence) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream()).ok());
  Put("clicks", {R"({"i": 1})", R"({"i": 2})"});
  StartService();  // the old service delivers its buffers as it stops
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.clicks"), "2");
  auto results = Put("clicks", {R"({"i": 3})"});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_THAT(results[0].record_id, testing::EndsWith("00000000000000000003"));
  ASSERT_TRUE(service_->Flush(admin_, "clicks").ok());
  EXPECT_EQ(Scalar("SELECT sum(i) FROM raw.clicks"), "6");
  EXPECT_EQ(service_->ListStreams(admin_).size(), 1u);
}

TEST_F(IngestServiceTest, PartitionsBecomeColumnsAndBadRecordsLandInTheErrorPrefix) {
  StreamConfig config = Stream("orders");
  config.partition_by = {"region"};
  config.validate_json = true;
  config.compression = Compression::kGzip;
  ASSERT_TRUE(service_->CreateStream(admin_, config).ok());
  Put("orders", {R"({"region": "eu", "amount": 5})", R"({"region": "us", "amount": 7})", "not json",
                 R"({"amount": 1})"});
  ASSERT_TRUE(service_->Flush(admin_, "orders").ok());
  EXPECT_EQ(Scalar("SELECT string_agg(region || '=' || amount, ',' ORDER BY region) FROM "
                   "raw.orders"),
            "eu=5,us=7");
  EXPECT_EQ(Scalar("SELECT count(DISTINCT hour) FROM raw.orders"), "1");
  auto errors = ListAll(*store_, "raw/orders/errors/");
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_THAT(errors->front().key, testing::EndsWith(".json.gz"));
  // From the issue: records sent to the error prefix were counted as delivered.
  auto described = service_->DescribeStream(admin_, "orders");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->records_delivered, 2u);
  EXPECT_EQ(described->records_failed, 2u);
  EXPECT_THAT(Join(described->last_failures, "|"), HasSubstr("not valid JSON"));
  EXPECT_THAT(service_->PrometheusMetrics(),
              HasSubstr("loch_ingest_records_failed_total{stream=\"orders\"} 2"));
  // The failed records are a table too, with the reason per record.
  EXPECT_EQ(
      Scalar("SELECT string_agg(data || ' -> ' || error, '|' ORDER BY sequence) FROM "
             "raw.orders_errors"),
      "not json -> not valid JSON|{\"amount\": 1} -> partition field \"region\" is missing or "
      "not a scalar");
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.orders_errors WHERE sequence = 3 AND hour >= 0"), "1");
}

// A record that is not JSON goes to the error prefix even when the stream does not ask for
// validation: in the table's object it made the object unreadable, and the delivery registered
// nothing of it while counting every record delivered (acknowledged records vanished from the
// table, silently).
TEST_F(IngestServiceTest, RecordsThatAreNotJsonNeverMakeTheTablesObjectUnreadable) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream("loose")).ok());
  Put("loose", {R"({"i": 1})", "not json", R"({"i": 2})"});
  ASSERT_TRUE(service_->Flush(admin_, "loose").ok());
  EXPECT_EQ(Scalar("SELECT sum(i) FROM raw.loose"), "3");
  EXPECT_EQ(Scalar("SELECT string_agg(data, '|') FROM raw.loose_errors"), "not json");
}

// An object the table cannot read whole is never checkpointed past: the delivery fails, saying
// why, and is retried (a transient failure passes). Refused on every try, its records go to the
// error prefix with the reason, so that one record DuckDB cannot read (a repeated key is JSON, but
// DuckDB refuses the object) does not stop the stream; the next records are delivered as usual.
TEST_F(IngestServiceTest, AnObjectTheTableCannotReadGoesToTheErrorPrefixNotPastTheCheckpoint) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream("dup")).ok());
  Put("dup", {R"({"i": 1})", R"({"i": 2, "i": 3})"});
  const absl::Status first_try = service_->Flush(admin_, "dup");
  EXPECT_TRUE(absl::IsUnavailable(first_try)) << first_try;
  EXPECT_THAT(first_try.message(), HasSubstr("could not be added to raw.dup"));
  EXPECT_THAT(first_try.message(), HasSubstr("duplicate key"));
  auto described = service_->DescribeStream(admin_, "dup");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->delivered_through, 0u);  // not checkpointed past them
  absl::Status flushed = first_try;
  for (int wait = 0; wait < 100 && !flushed.ok(); ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    flushed = service_->Flush(admin_, "dup");
  }
  ASSERT_TRUE(flushed.ok()) << flushed;
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.dup"), "0");
  EXPECT_EQ(Scalar("SELECT string_agg(sequence || ':' || data, '|' ORDER BY sequence) FROM "
                   "raw.dup_errors WHERE error LIKE '%duplicate key%'"),
            R"(1:{"i": 1}|2:{"i": 2, "i": 3})");
  described = service_->DescribeStream(admin_, "dup");
  EXPECT_EQ(described->delivered_through, 2u);
  EXPECT_EQ(described->records_failed, 2u);
  auto stored = ListAll(*store_, "raw/dup/");
  ASSERT_TRUE(stored.ok());
  for (const ObjectInfo& object : *stored)  // the refused object is gone; its records are kept
    EXPECT_THAT(object.key, HasSubstr("/errors/"));
  // The stream goes on.
  Put("dup", {R"({"i": 4})"});
  ASSERT_TRUE(service_->Flush(admin_, "dup").ok());
  EXPECT_EQ(Scalar("SELECT sum(i) FROM raw.dup"), "4");
}

// A producer that changes a key's case: the table cannot hold "A" beside "a" (names ignore case),
// so that object goes to the error table with the reason, and the table keeps answering.
TEST_F(IngestServiceTest, AKeyInAnotherCaseThanTheTablesColumnGoesToTheErrorTable) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream("cased")).ok());
  Put("cased", {R"({"a": 1})"});
  ASSERT_TRUE(service_->Flush(admin_, "cased").ok());
  Put("cased", {R"({"A": 2})"});
  absl::Status flushed = service_->Flush(admin_, "cased");
  for (int wait = 0; wait < 100 && !flushed.ok(); ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    flushed = service_->Flush(admin_, "cased");
  }
  ASSERT_TRUE(flushed.ok()) << flushed;
  EXPECT_EQ(Scalar("SELECT count(*) || ',' || sum(a) FROM raw.cased"), "1,1");
  EXPECT_EQ(Scalar("SELECT string_agg(data, '|') FROM raw.cased_errors WHERE error LIKE "
                   "'%it has column \"A\", but the table reads \"a\"%'"),
            R"({"A": 2})");
}

TEST_F(IngestServiceTest, RejectInvalidRefusesBadRecordsInThePutsAnswer) {
  StreamConfig config = Stream("strict");
  config.partition_by = {"region"};
  config.reject_invalid = true;
  ASSERT_TRUE(service_->CreateStream(admin_, config).ok());
  auto results = service_->Put(admin_, "strict",
                               {R"({"region": "eu", "amount": 5})", "not json", R"({"amount": 1})",
                                R"({"region": {"nested": 1}})", R"({"region": "us"})"});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 5u);
  EXPECT_TRUE(results->at(0).status.ok());
  EXPECT_FALSE(results->at(0).record_id.empty());
  EXPECT_EQ(results->at(1).status.message(), "not valid JSON");
  EXPECT_EQ(results->at(2).status.message(),
            "partition field \"region\" is missing or not a scalar");
  EXPECT_TRUE(absl::IsInvalidArgument(results->at(3).status));
  EXPECT_TRUE(results->at(3).record_id.empty());
  EXPECT_TRUE(results->at(4).status.ok());
  ASSERT_TRUE(service_->Flush(admin_, "strict").ok());
  EXPECT_EQ(Scalar("SELECT string_agg(region, ',' ORDER BY region) FROM raw.strict"), "eu,us");
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.strict_errors"), "0");
  auto described = service_->DescribeStream(admin_, "strict");
  EXPECT_EQ(described->records_failed, 0u);
  EXPECT_THAT(service_->PrometheusMetrics(),
              HasSubstr("loch_ingest_records_rejected_total{stream=\"strict\"} 3"));
  EXPECT_TRUE(StreamConfigFromJson(StreamConfigToJson(config))->reject_invalid);
}

// From the issue: a stream's table did not exist until its first delivery.
TEST_F(IngestServiceTest, AStreamsTableIsQueryableAsSoonAsItIsCreated) {
  StreamConfig config = Stream("fresh");
  config.partition_by = {"region"};
  ASSERT_TRUE(service_->CreateStream(admin_, config).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.fresh"), "0");
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.fresh_errors"), "0");
  // A stream whose table would be another stream's error table is refused.
  EXPECT_TRUE(
      absl::IsAlreadyExists(service_->CreateStream(admin_, Stream("fresh_errors")).status()));
  EXPECT_EQ(Scalar("SELECT typeof(region) || ' ' || typeof(hour) FROM (SELECT * FROM raw.fresh "
                   "UNION ALL SELECT 'x', 1, 1, 1, 1)"),
            "VARCHAR BIGINT");
  Put("fresh", {R"({"region": "7", "amount": 5})"});
  ASSERT_TRUE(service_->Flush(admin_, "fresh").ok());
  EXPECT_EQ(Scalar("SELECT region || ':' || amount FROM raw.fresh"), "7:5");
  // A stream deleted and created again keeps the table and its data.
  ASSERT_TRUE(service_->DeleteStream(admin_, "fresh").ok());
  ASSERT_TRUE(service_->CreateStream(admin_, config).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.fresh"), "1");
}

TEST_F(IngestServiceTest, RecordsAreConvertedToParquetWithATablesColumns) {
  ASSERT_EQ(Scalar("CREATE TABLE shop.typed AS SELECT CAST(1 AS BIGINT) AS id, 'x' AS name, "
                   "CAST(1.5 AS DOUBLE) AS amount, TIMESTAMP '2026-01-01 00:00:00' AS ts, "
                   "[1, 2] AS tags WHERE false"),
            "CREATE TABLE");
  StreamConfig config = Stream("typed-orders");
  config.parquet_table = "shop.nope";
  EXPECT_THAT(std::string(service_->CreateStream(admin_, config).status().message()),
              HasSubstr("does not exist"));
  config.parquet_table = "shop.typed";
  config.compression = Compression::kNone;  // the error object is read below
  ASSERT_TRUE(service_->CreateStream(admin_, config).ok());
  Put("typed-orders",
      {R"({"id": 1, "name": "ann", "amount": 9.5, "ts": "2026-11-27T10:00:00Z", "tags": [3]})",
       R"({"id": "2", "amount": 3, "extra": "dropped"})", R"({"id": "two", "name": "bad id"})",
       R"([1, 2])", R"({"id": 4, "ts": "not a time", "tags": "nope"})"});
  ASSERT_TRUE(service_->Flush(admin_, "typed-orders").ok());
  EXPECT_EQ(Scalar("SELECT string_agg(id || ':' || coalesce(name, '-') || ':' || amount, ',' "
                   "ORDER BY id) FROM raw.typed_orders"),
            "1:ann:9.5,2:-:3.0");
  EXPECT_EQ(Scalar("SELECT typeof(ts) || ' ' || typeof(tags) FROM raw.typed_orders LIMIT 1"),
            "TIMESTAMP INTEGER[]");
  auto objects = ListAll(*store_, "raw/typed-orders/");
  ASSERT_TRUE(objects.ok());
  size_t parquet = 0, errors = 0;
  for (const ObjectInfo& object : *objects) {
    if (object.key.ends_with(".parquet")) ++parquet;
    if (object.key.find("/errors/") != std::string::npos) {
      ++errors;
      EXPECT_THAT(object.key, testing::EndsWith("-conversion.json"));
      const std::string rejected = *store_->Get(object.key);
      EXPECT_THAT(rejected, HasSubstr(R"(column id: \"two\" is not BIGINT)"));
      EXPECT_THAT(rejected, HasSubstr("not a JSON object"));
      EXPECT_THAT(rejected, HasSubstr("column tags"));
      EXPECT_THAT(rejected, HasSubstr("column ts"));
    }
  }
  EXPECT_EQ(parquet, 1u);
  EXPECT_EQ(errors, 1u);
  auto described = service_->DescribeStream(admin_, "typed-orders");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->records_delivered, 2u);
  EXPECT_EQ(described->records_failed, 3u);
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(*) FILTER (WHERE error LIKE '%two%') FROM "
                   "raw.typed_orders_errors"),
            "3 1");
}

TEST_F(IngestServiceTest, DeletingAStreamDeliversItFirstAndKeepsItsTable) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream()).ok());
  Put("clicks", {R"({"i": 1})"});
  ASSERT_TRUE(service_->DeleteStream(admin_, "clicks").ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.clicks"), "1");
  EXPECT_EQ(service_->Put(admin_, "clicks", {"{}"}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(fs::is_empty(options_.wal_dir));
  // A new stream of the same name writes new objects next to the old ones.
  ASSERT_TRUE(service_->CreateStream(admin_, Stream()).ok());
  Put("clicks", {R"({"i": 2})"});
  ASSERT_TRUE(service_->Flush(admin_, "clicks").ok());
  EXPECT_EQ(Scalar("SELECT sum(i) FROM raw.clicks"), "3");
}

TEST_F(IngestServiceTest, AStreamThatCannotDeliverSaysWhyAndIsDeletedOnlyWhenForced) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream()).ok());
  Put("clicks", {R"({"i": 1})", R"({"i": 2})"});
  // A real fault: a file where the stream's folder must go, so every object write fails.
  fs::create_directories(root_ + "/raw");
  { std::ofstream(root_ + "/raw/clicks") << "in the way"; }

  const absl::Status flushed = service_->Flush(admin_, "clicks");  // fails, and does not hang
  EXPECT_EQ(flushed.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(flushed.message()), HasSubstr("could not deliver"));
  const absl::Status refused = service_->DeleteStream(admin_, "clicks");
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("was not deleted"));
  EXPECT_THAT(std::string(refused.message()), HasSubstr("force"));
  // It is still there, taking records.
  EXPECT_EQ(Put("clicks", {R"({"i": 3})"}).size(), 1u);
  EXPECT_GT(MetricValue("loch_ingest_pending_bytes"), 0);

  ASSERT_TRUE(service_->DeleteStream(admin_, "clicks", /*discard_undelivered=*/true).ok());
  EXPECT_EQ(service_->Put(admin_, "clicks", {"{}"}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(fs::is_empty(options_.wal_dir));
  EXPECT_EQ(MetricValue("loch_ingest_pending_bytes"), 0);  // nothing counted as undelivered
}

TEST_F(IngestServiceTest, DeliveryResumesOnceTheFaultIsGone) {
  ASSERT_TRUE(service_->CreateStream(admin_, Stream()).ok());
  Put("clicks", {R"({"i": 1})"});
  fs::create_directories(root_ + "/raw");
  { std::ofstream(root_ + "/raw/clicks") << "in the way"; }
  EXPECT_FALSE(service_->Flush(admin_, "clicks").ok());
  fs::remove(root_ + "/raw/clicks");
  Put("clicks", {R"({"i": 2})"});
  ASSERT_TRUE(service_->DeleteStream(admin_, "clicks").ok());  // delivers everything first
  EXPECT_EQ(Scalar("SELECT sum(i) FROM raw.clicks"), "3");
}

TEST_F(IngestServiceTest, ConcurrentProducersLoseNothing) {
  StreamConfig config = Stream();
  config.buffer_bytes = 1 << 20;
  config.buffer_seconds = 0;
  ASSERT_TRUE(service_->CreateStream(admin_, config).ok());
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&, p] {
      for (int batch = 0; batch < 25; ++batch) {
        std::vector<std::string> records;
        for (int i = 0; i < 20; ++i)
          records.push_back(fmt::format(R"({{"p": {}, "n": {}}})", p, batch * 20 + i));
        Put("clicks", records);
      }
    });
  }
  for (auto& producer : producers) producer.join();
  ASSERT_TRUE(service_->Flush(admin_, "clicks").ok());
  EXPECT_EQ(Scalar("SELECT count(*) || ':' || count(DISTINCT (p, n)) FROM raw.clicks"),
            "2000:2000");
}

}  // namespace
}  // namespace loch
