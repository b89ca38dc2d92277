#include "lifecycle/compaction.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/test_dir.h"
#include "crawl/crawler.h"
#include "engine/query_test_support.h"
#include "engine/test_lake.h"
#include "engine/text_types.h"
#include "etl/job_runner.h"
#include "etl/job_spec.h"
#include "fmt/format.h"
#include "ingest/stream_config.h"
#include "lifecycle/vacuum.h"
#include "storage/object_store.h"

namespace loch {
namespace {

using ::testing::HasSubstr;

class CompactionTest : public testing::Test {
 protected:
  void SetUp() override { lake_ = OpenTestLake(root_); }

  void Put(const std::string& key, const std::string& data) {
    ASSERT_TRUE(lake_.store->Put(key, data).ok());
  }
  // The same object into both twins' folders.
  void PutTwins(const std::string& path, const std::string& data) {
    Put("raw/a/" + path, data);
    Put("raw/b/" + path, data);
  }
  CrawlReport Crawl(const std::string& prefix = "raw/") {
    Crawler crawler(*lake_.catalog, *lake_.store, *lake_.engine);
    CrawlRequest request;
    request.prefixes = {prefix};
    request.database = "raw";
    auto report = crawler.Crawl(admin_, request, nullptr);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : CrawlReport{};
  }
  CompactionReport CompactTable(const std::string& table, int64_t target_bytes = 1 << 20,
                                std::vector<std::string> sort_by = {}) {
    CompactionOptions options;
    options.table = *TableName::Parse(table);
    options.target_file_bytes = target_bytes;
    options.sort_by = std::move(sort_by);
    auto report = Compact(*lake_.catalog, *lake_.store, *lake_.engine, admin_, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : CompactionReport{};
  }
  std::vector<std::vector<std::string>> Rows(const std::string& sql) {
    auto cursor = lake_.engine->Query(admin_, sql);
    EXPECT_TRUE(cursor.ok()) << cursor.status() << "\n" << sql;
    if (!cursor.ok()) return {};
    auto rows = AllRows(**cursor);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<std::vector<std::string>>{};
  }
  std::string Cell(const std::string& sql) { return FirstCell(*lake_.engine, sql); }
  size_t LiveFiles(const std::string& table) {
    return lake_.catalog->ReadTable(admin_, *TableName::Parse(table), std::nullopt)->files.size();
  }
  // Every query gives the compacted twin raw.a the answers of the untouched raw.b.
  void ExpectTwinsAnswerAlike() {
    for (const std::string& query : {
             std::string("SELECT * FROM {} ORDER BY ALL"),
             std::string("SELECT count(*), count(ts), min(ts), max(ts), sum(amount), "
                         "count(DISTINCT id) FROM {}"),
             std::string("SELECT day, count(*) FROM {} WHERE ts >= TIMESTAMP '2024-03-05 "
                         "10:30:00' GROUP BY day ORDER BY day"),
             std::string("SELECT id FROM {} WHERE day = '2024-03-06' ORDER BY id"),
         }) {
      const auto compacted = Rows(fmt::format(fmt::runtime(query), "raw.a"));
      EXPECT_FALSE(compacted.empty()) << query;
      EXPECT_EQ(compacted, Rows(fmt::format(fmt::runtime(query), "raw.b"))) << query;
    }
  }

  TestDir scratch_{"loch-compact"};
  std::string root_ = scratch_ / "lake";
  TestLake lake_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(CompactionTest, ATableReadsTheSameAfterCompactionAndAfterLaterChanges) {
  PutTwins("day=2024-03-05/1.json",
           "{\"id\": 1, \"ts\": \"2024-03-05 10:00:00\", \"amount\": 12.5, \"tags\": [\"x\"]}\n"
           "{\"id\": 2, \"ts\": \"2024-03-05 11:00:00\", \"amount\": 7, \"tags\": []}\n");
  // One bad value among ten numbers: the column is read as numbers, leniently.
  std::string lenient =
      "{\"id\": 3, \"ts\": \"soon\", \"amount\": \"n/a\", \"tags\": [\"y\", \"z\"]}\n";
  for (int id = 4; id < 14; ++id) {
    lenient += fmt::format(
        "{{\"id\": {0}, \"ts\": \"2024-03-05 12:{0:02}:00\", \"amount\": {0}.25, \"tags\": null}}\n",
        id);
  }
  PutTwins("day=2024-03-05/2.json", lenient);
  for (int i = 0; i < 4; ++i) {  // enough text for the crawler to type ts and amount leniently
    PutTwins(fmt::format("day=2024-03-06/{}.json", i),
             fmt::format("{{\"id\": {0}, \"ts\": \"2024-03-06 0{1}:00:00\", \"amount\": {1}.5, "
                         "\"tags\": [\"t{1}\"]}}\n",
                         10 + i, i));
  }
  Crawl();
  const Schema schema =
      lake_.catalog->ReadTable(admin_, {"raw", "a"}, std::nullopt)->table.schema;
  ASSERT_NE(schema.Find("ts"), nullptr);
  EXPECT_TRUE(ParsedFromText(*schema.Find("ts"))) << schema.Find("ts")->metadata.dump();
  ASSERT_NE(schema.Find("amount"), nullptr);
  EXPECT_TRUE(ParsedFromText(*schema.Find("amount"))) << schema.Find("amount")->metadata.dump();
  ASSERT_EQ(LiveFiles("raw.a"), 6u);
  const int64_t before = lake_.catalog->ReadTable(admin_, {"raw", "a"}, std::nullopt)
                             ->table.current_snapshot;

  CompactionReport report = CompactTable("raw.a", 1 << 20, {"ts"});
  EXPECT_EQ(report.partitions, 2);
  EXPECT_EQ(report.files_before, 6);
  EXPECT_EQ(report.files_after, 2);
  EXPECT_EQ(report.rows, 17);
  EXPECT_EQ(report.archived, 6);
  EXPECT_EQ(LiveFiles("raw.a"), 2u);
  ExpectTwinsAnswerAlike();
  // The datetimes still prune: the compacted file of a day whose every ts parsed has a typed range.
  const std::string before_day = "SELECT count(*) FROM {} WHERE ts < TIMESTAMP '2024-03-06 00:00:00'";
  auto pruned = lake_.engine->Query(admin_, fmt::format(fmt::runtime(before_day), "raw.a"));
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  int64_t table_bytes = 0;
  auto compacted = lake_.catalog->ReadTable(admin_, {"raw", "a"}, std::nullopt);
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  for (const DataFile& file : compacted->files) {
    table_bytes += file.size_bytes;
  }
  EXPECT_LT((*pruned)->bytes_scanned(), table_bytes);
  EXPECT_EQ(AllRows(**pruned)->front().front(), Cell(fmt::format(fmt::runtime(before_day), "raw.b")));
  // The text of what did not parse is still there.
  EXPECT_EQ(Cell("SELECT ts_raw FROM raw.a WHERE id = 3"), Cell("SELECT ts_raw FROM raw.b WHERE id = 3"));

  // The raw zone is kept: copies under archive/, which the table's history reads.
  auto history = lake_.catalog->ReadTable(admin_, {"raw", "a"}, before);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->files.size(), 6u);
  for (const DataFile& file : history->files) {
    EXPECT_TRUE(file.key.starts_with("archive/raw/a/")) << file.key;
    EXPECT_TRUE(lake_.store->Head(file.key).ok()) << file.key;
  }
  // The originals wait for deletion; a crawl leaves them alone and adds nothing.
  EXPECT_EQ(lake_.catalog->QueuedKeys(admin_, "raw/a/")->size(), 6u);
  CrawlReport again = Crawl();
  EXPECT_EQ(LiveFiles("raw.a"), 2u);
  EXPECT_THAT(testing::PrintToString(again.warnings), HasSubstr("wait for deletion"));
  ExpectTwinsAnswerAlike();
  // Rebuilding the schema from the listed objects would miss what only the compacted ones had.
  Crawler crawler(*lake_.catalog, *lake_.store, *lake_.engine);
  CrawlRequest rebuild{{"raw/"}, "raw"};
  rebuild.recrawl = RecrawlPolicy::kEverything;
  auto rebuilt = crawler.Crawl(admin_, rebuild, nullptr);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_THAT(testing::PrintToString(rebuilt->warnings),
              HasSubstr("raw.a was compacted: only its new objects were read"));
  ExpectTwinsAnswerAlike();

  // Later files bring a new column and a new datetime format: the compacted text reads as the
  // originals would.
  PutTwins("day=2024-03-06/later.json",
           "{\"id\": 20, \"ts\": \"06.03.2024 13:45\", \"amount\": 1, \"coupon\": \"A\", "
           "\"tags\": [\"w\"]}\n");
  Crawl();
  ExpectTwinsAnswerAlike();
  EXPECT_EQ(Cell("SELECT count(*) FROM raw.a WHERE coupon = 'A'"), "1");
  // Nothing to do twice.
  CompactionReport second = CompactTable("raw.a");
  EXPECT_EQ(second.partitions, 1);  // the new raw file and the compacted one
  ExpectTwinsAnswerAlike();
}

// Partition values read from Hive folders are URL-decoded, and NULL is a folder of its own: the
// compacted files keep their folders, so they read the values alike.
TEST_F(CompactionTest, PartitionValuesFromFoldersReadAlike) {
  for (const char* table : {"mart.a", "mart.b"}) {
    const std::string rows =
        "SELECT i AS id, CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN 'a b/c' WHEN 2 THEN '50%' ELSE "
        "'x:y' END AS place, TIMESTAMP '2024-01-01 10:00:00' + INTERVAL (i % 3) HOUR AS slot FROM "
        "range({}, {}) r(i)";
    ASSERT_NE(Cell(fmt::format("CREATE TABLE {} WITH (partitioned_by = ARRAY['place', 'slot']) AS "
                               "{}",
                               table, fmt::format(fmt::runtime(rows), 0, 40)))
                  .rfind("ERROR", 0),
              0u);
    for (int batch = 1; batch < 3; ++batch) {
      ASSERT_NE(Cell(fmt::format("INSERT INTO {} {}", table,
                                 fmt::format(fmt::runtime(rows), batch * 40, batch * 40 + 40)))
                    .rfind("ERROR", 0),
                0u);
    }
  }
  const size_t files = LiveFiles("mart.a");
  CompactionReport report = CompactTable("mart.a");
  EXPECT_EQ(report.files_before, static_cast<int64_t>(files));
  EXPECT_EQ(LiveFiles("mart.a"), files / 3);  // three writes' files of each partition -> one
  for (const std::string query :
       {"SELECT place, slot, count(*), sum(id) FROM {} GROUP BY ALL ORDER BY ALL",
        "SELECT count(*) FROM {} WHERE place IS NULL", "SELECT id FROM {} WHERE place = 'a b/c' "
        "AND slot = TIMESTAMP '2024-01-01 11:00:00' ORDER BY id"}) {
    const auto compacted = Rows(fmt::format(fmt::runtime(query), "mart.a"));
    EXPECT_FALSE(compacted.empty());
    EXPECT_EQ(compacted, Rows(fmt::format(fmt::runtime(query), "mart.b"))) << query;
  }
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.a WHERE place IS NULL"), "30");
}

// A raw object written again at its key after a compaction archived it is the producer's new
// data: vacuum leaves it, and deletes the originals nobody rewrote.
TEST_F(CompactionTest, VacuumDeletesOnlyOriginalsNobodyWroteAgain) {
  Put("raw/events/day=2024-01-01/1.json", "{\"id\": 1}\n");
  Put("raw/events/day=2024-01-01/2.json", "{\"id\": 2}\n");
  Crawl();
  auto table = lake_.catalog->ReadTable(admin_, {"raw", "events"}, std::nullopt);
  // A compaction as Compact() makes it, due for deletion at once.
  TableCommit commit;
  commit.table = {"raw", "events"};
  commit.base_snapshot = table->table.current_snapshot;
  commit.operation = std::string(kCompactOperation);
  StageRequest stage;
  stage.table = commit.table;
  stage.query = "SELECT * FROM raw.events";
  auto staged = lake_.engine->StageQueryResult(admin_, stage);
  ASSERT_TRUE(staged.ok()) << staged.status();
  for (DataFile file : staged->files) {
    file.partition_values = table->files[0].partition_values;
    commit.add_files.push_back(file);
  }
  for (const DataFile& file : table->files) {
    commit.remove_file_ids.push_back(file.file_id);
    ASSERT_TRUE(lake_.store->Copy(file.key, "archive/" + file.key).ok());
    commit.relocations.push_back(Relocation{file.file_id, "archive/" + file.key, ""});
    commit.deferred_deletes.push_back(ObjectRef{file.key, file.size_bytes, "archive/" + file.key});
  }
  ASSERT_TRUE(lake_.catalog->Commit(admin_, commit).ok());
  Put("raw/events/day=2024-01-01/1.json", "{\"id\": 1}\n");   // the same bytes again (new ETag)
  Put("raw/events/day=2024-01-01/2.json", "{\"id\": 22}\n");  // the producer's new data
  VacuumOptions options;
  options.retain_micros = 0;
  options.force = true;
  auto vacuumed = Vacuum(*lake_.catalog, *lake_.store, admin_, options);
  ASSERT_TRUE(vacuumed.ok()) << vacuumed.status();
  EXPECT_EQ(vacuumed->replaced_kept, 1);
  EXPECT_TRUE(absl::IsNotFound(lake_.store->Head("raw/events/day=2024-01-01/1.json").status()));
  EXPECT_EQ(*lake_.store->Get("raw/events/day=2024-01-01/2.json"), "{\"id\": 22}\n");
  EXPECT_TRUE(lake_.catalog->QueuedKeys(admin_, "raw/")->empty());
  EXPECT_EQ(*lake_.store->Get("archive/raw/events/day=2024-01-01/2.json"), "{\"id\": 2}\n");
  // Out of the queue, it is crawled as the new object it is.
  Crawl();
  EXPECT_EQ(Cell("SELECT string_agg(CAST(id AS VARCHAR), ',' ORDER BY id) FROM raw.events"),
            "1,2,22");
}

TEST_F(CompactionTest, IncrementalJobsReadEachRowOnceAcrossCompactions) {
  auto deliver = [&](int batch) {
    std::string lines;
    for (int i = 0; i < 5; ++i) lines += fmt::format("{{\"id\": {}, \"v\": {}}}\n", batch * 10 + i, i);
    Put(fmt::format("raw/events/day=2024-01-01/{}.json", batch), lines);
  };
  deliver(0);
  deliver(1);
  Crawl();
  auto spec = etl::JobSpecFromJson({{"name", "copy"},
                                    {"sql", "SELECT id, v FROM raw.events"},
                                    {"target", "mart.copy"},
                                    {"incremental", true}});
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(lake_.catalog->PutJob(admin_, {"copy", 0, etl::ToJson(*spec), 0, ""}, false).ok());
  TestDir locks("loch-compact-locks");
  etl::JobRunner runner(*lake_.catalog, *lake_.store, *lake_.engine, locks.path());
  auto run = [&] {
    auto record = runner.Run(admin_, etl::RunRequest{"copy", false});
    EXPECT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->state, RunRecord::kSucceeded) << record->error;
    return *record;
  };
  run();
  deliver(2);
  deliver(3);
  Crawl();
  CompactTable("raw.events");  // compacts rows read (batches 0, 1) with rows not read yet (2, 3)
  deliver(4);
  Crawl();
  RunRecord second = run();
  EXPECT_EQ(second.report["rows_written"], 15);
  EXPECT_EQ(Cell("SELECT count(*), count(DISTINCT id) FROM mart.copy"),
            Cell("SELECT count(*), count(DISTINCT id) FROM raw.events"));
  // A compaction alone is nothing new to read.
  deliver(5);
  Crawl();
  run();
  CompactTable("raw.events");
  RunRecord fourth = run();
  EXPECT_THAT(fourth.report.value("note", ""), HasSubstr("nothing new"));
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.copy"), "30");
}

TEST_F(CompactionTest, StreamObjectsNotCheckpointedAreLeftOut) {
  StreamConfig config;
  config.name = "clicks";
  auto created = lake_.catalog->CreateStream(admin_, {"clicks", StreamConfigToJson(config), 0, 0});
  ASSERT_TRUE(created.ok()) << created.status();
  for (int sequence : {1, 11, 21}) {
    Put(fmt::format("raw/clicks/2026/12/01/00/clicks-{:020}.json", sequence),
        fmt::format("{{\"n\": {}}}\n", sequence));
  }
  Crawl();
  ASSERT_TRUE(lake_.catalog
                  ->SetStreamDelivered(admin_, "clicks", created->created_micros, 15)
                  .ok());
  CompactionReport report = CompactTable("raw.clicks");
  EXPECT_EQ(report.files_before, 2);
  EXPECT_EQ(report.not_delivered, 1);
  EXPECT_EQ(Cell("SELECT sum(n) FROM raw.clicks"), "33");
  EXPECT_EQ(LiveFiles("raw.clicks"), 2u);  // the compacted file and sequence 21
}

TEST_F(CompactionTest, BadOptionsAreRefusedAndADryRunWritesNothing) {
  Put("raw/events/day=2024-01-01/1.json", "{\"id\": 1}\n");
  Put("raw/events/day=2024-01-01/2.json", "{\"id\": 2}\n");
  Crawl();
  CompactionOptions options;
  options.table = {"raw", "events"};
  options.sort_by = {"nope"};
  auto refused = Compact(*lake_.catalog, *lake_.store, *lake_.engine, admin_, options);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status()));
  EXPECT_THAT(refused.status().message(), HasSubstr("--sort-by nope"));
  options.sort_by = {};
  options.partition = {{"hour", "1"}};
  EXPECT_THAT(Compact(*lake_.catalog, *lake_.store, *lake_.engine, admin_, options)
                  .status()
                  .message(),
              HasSubstr("no partition column \"hour\""));
  options.partition = {{"day", "2024-01-01"}};
  options.dry_run = true;
  auto dry = Compact(*lake_.catalog, *lake_.store, *lake_.engine, admin_, options);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->files_before, 2);
  EXPECT_EQ(dry->snapshot_id, 0);
  EXPECT_EQ(LiveFiles("raw.events"), 2u);
  EXPECT_TRUE(ListAll(*lake_.store, "archive/")->empty());
  EXPECT_TRUE(absl::IsNotFound(
      Compact(*lake_.catalog, *lake_.store, *lake_.engine, admin_, {{"raw", "nope"}}).status()));
}

}  // namespace
}  // namespace loch
