#include "etl/job_runner.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "common/ids.h"
#include "common/strings.h"
#include "common/test_dir.h"
#include "engine/query_test_support.h"
#include "engine/test_lake.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class JobRunnerTest : public testing::Test {
 protected:
  void SetUp() override {
    lake_ = OpenTestLake(root_);
    runner_ = std::make_unique<JobRunner>(*lake_.catalog, *lake_.store, *lake_.engine,
                                          root_ + "/.loch/locks");
  }

  std::string Cell(const std::string& sql) { return FirstCell(*lake_.engine, sql); }
  void Sql(const std::string& sql) { ASSERT_NE(Cell(sql).rfind("ERROR", 0), 0u) << Cell(sql); }

  // Stores the job (a new version if it exists).
  void Define(nlohmann::json fields) {
    auto spec = JobSpecFromJson(fields);
    ASSERT_TRUE(spec.ok()) << spec.status();
    const bool exists = lake_.catalog->GetJob(admin_, spec->name).ok();
    ASSERT_TRUE(lake_.catalog->PutJob(admin_, {spec->name, 0, ToJson(*spec), 0, ""}, exists).ok());
  }

  RunRecord RunJob(const std::string& job, bool full = false) {
    auto run = runner_->Run(admin_, RunRequest{job, full});
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : RunRecord{};
  }

  // Every object under `prefix` in the store.
  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> keys;
    auto objects = ListAll(*lake_.store, prefix);
    EXPECT_TRUE(objects.ok()) << objects.status();
    if (!objects.ok()) return keys;
    for (const ObjectInfo& object : *objects) keys.push_back(object.key);
    return keys;
  }

  TestDir scratch_{"loch-etl"};
  std::string root_ = scratch_ / "lake";
  TestLake lake_;
  std::unique_ptr<JobRunner> runner_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(JobRunnerTest, ReplacePartitionsReplacesOnlyThePartitionsTheRunProduced) {
  Sql("CREATE TABLE raw.sales AS SELECT i AS id, i % 3 AS store, (i % 7) * 1.5 AS price "
      "FROM range(3000) r(i)");
  Define({{"name", "by_store"},
          {"sql",
           "SELECT store, count(*) AS sales, sum(price) AS revenue FROM raw.sales "
           "WHERE store < 2 GROUP BY store"},
          {"target", "mart.by_store"},
          {"mode", "replace-partitions"},
          {"partition_by", {"store"}}});
  RunRecord first = RunJob("by_store");
  ASSERT_EQ(first.state, RunRecord::kSucceeded) << first.error;
  EXPECT_EQ(first.report["rows_written"], 2);
  EXPECT_EQ(first.report["partitions_written"], 2);
  // A second version of the job reaches store 2 too: stores 0 and 1 are replaced, 2 is added.
  Define({{"name", "by_store"},
          {"sql",
           "SELECT store, count(*) AS sales, sum(price) AS revenue FROM raw.sales "
           "GROUP BY store"},
          {"target", "mart.by_store"},
          {"mode", "replace-partitions"},
          {"partition_by", {"store"}}});
  RunRecord second = RunJob("by_store");
  ASSERT_EQ(second.state, RunRecord::kSucceeded) << second.error;
  EXPECT_EQ(second.report["files_replaced"], 2);
  EXPECT_EQ(second.report["job_version"], 2);
  // The table equals the query computed directly: no partition twice, none lost.
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.by_store"), "3");
  EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT store, count(*) AS sales, sum(price) AS revenue "
                 "FROM raw.sales GROUP BY store EXCEPT SELECT store, sales, revenue FROM "
                 "mart.by_store)"),
            "0");
  // The commit says which job wrote it.
  auto snapshots = lake_.catalog->ListSnapshots(admin_, {"mart", "by_store"});
  EXPECT_THAT(snapshots->back().message, HasSubstr("job by_store"));
}

// An unpartitioned replace-partitions target is replaced whole, by an empty result too.
TEST_F(JobRunnerTest, AnEmptyResultReplacesAnUnpartitionedTargetWhole) {
  Sql("CREATE TABLE raw.flags AS SELECT i AS id FROM range(10) r(i)");
  auto define = [&](const std::string& sql) {
    Define({{"name", "flagged"},
            {"sql", sql},
            {"target", "mart.flagged"},
            {"mode", "replace-partitions"}});
  };
  define("SELECT id FROM raw.flags");
  ASSERT_EQ(RunJob("flagged").state, RunRecord::kSucceeded);
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.flagged"), "10");
  define("SELECT id FROM raw.flags WHERE id > 100");
  RunRecord emptied = RunJob("flagged");
  ASSERT_EQ(emptied.state, RunRecord::kSucceeded) << emptied.error;
  EXPECT_EQ(emptied.report["files_replaced"], 1);
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.flagged"), "0");
}

TEST_F(JobRunnerTest, IncrementalRunsReadOnlyWhatWasCommittedSinceTheirBookmark) {
  Sql("CREATE TABLE raw.clicks AS SELECT i AS id, 'home' AS page FROM range(1000) r(i)");
  Define({{"name", "clean"},
          {"sql", "SELECT id, upper(page) AS page FROM raw.clicks"},
          {"target", "curated.clicks"},
          {"incremental", true}});
  RunRecord first = RunJob("clean");
  ASSERT_EQ(first.state, RunRecord::kSucceeded) << first.error;
  EXPECT_FALSE(first.report["incremental"].get<bool>());
  EXPECT_EQ(first.report["sources"]["raw.clicks"]["rows"], 1000);

  Sql("INSERT INTO raw.clicks SELECT i AS id, 'cart' AS page FROM range(1000, 1010) r(i)");
  RunRecord second = RunJob("clean");
  ASSERT_EQ(second.state, RunRecord::kSucceeded) << second.error;
  EXPECT_TRUE(second.report["incremental"].get<bool>());
  EXPECT_EQ(second.report["sources"]["raw.clicks"]["rows"], 10);
  EXPECT_EQ(second.report["sources"]["raw.clicks"]["since_snapshot"],
            first.report["sources"]["raw.clicks"]["snapshot"]);
  EXPECT_EQ(second.report["rows_written"], 10);
  // Every source row once, transformed.
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT id) FROM curated.clicks"), "1010/1010");
  EXPECT_EQ(Cell("SELECT count(*) FROM curated.clicks WHERE page = 'CART'"), "10");

  // Nothing new: the run succeeds and publishes nothing.
  const int64_t snapshot =
      lake_.catalog->ReadTable(admin_, {"curated", "clicks"}, std::nullopt)->table.current_snapshot;
  RunRecord idle = RunJob("clean");
  ASSERT_EQ(idle.state, RunRecord::kSucceeded) << idle.error;
  EXPECT_THAT(idle.report["note"].get<std::string>(), HasSubstr("nothing new"));
  EXPECT_EQ(
      lake_.catalog->ReadTable(admin_, {"curated", "clicks"}, std::nullopt)->table.current_snapshot,
      snapshot);

  // --full reads everything again (append mode: the rows are then there twice, as asked).
  RunRecord full = RunJob("clean", /*full=*/true);
  ASSERT_EQ(full.state, RunRecord::kSucceeded) << full.error;
  EXPECT_EQ(full.report["rows_written"], 1010);
  EXPECT_EQ(Cell("SELECT count(*) FROM curated.clicks"), "2020");
  // The runs are a system table too, their reports' figures as columns.
  EXPECT_EQ(Cell("SELECT count(*) || '/' || sum(rows_read) || '/' || sum(rows_written) || '/' || "
                 "count(finished) FROM loch.job_runs WHERE job = 'clean' AND state = 'SUCCEEDED'"),
            "4/2020/2020/4");
  EXPECT_EQ(Cell("SELECT report::JSON->>'$.mode' FROM loch.job_runs ORDER BY run_id DESC LIMIT 1"),
            "append");
}

// "Re-aggregate when a problem happens": a range of the target's partitions is made again from
// the raw zone with the job's current logic, and replaced whole; an incremental job's range re-run
// reads what its runs processed and moves no bookmark, so its next run still adds what is new.
TEST_F(JobRunnerTest, ARangeReRunReplacesExactlyThePartitionsInTheRange) {
  Sql("CREATE TABLE raw.events AS SELECT i AS id, DATE '2026-01-01' + (i % 5)::INTEGER AS day, "
      "i AS amount FROM range(500) r(i)");
  auto define = [&](const std::string& sql) {
    Define({{"name", "clean"},
            {"sql", sql},
            {"target", "curated.events"},
            {"partition_by", {"day"}},
            {"incremental", true}});
  };
  define("SELECT id, day, amount * 2 AS amount FROM raw.events");
  ASSERT_EQ(RunJob("clean").state, RunRecord::kSucceeded);
  // New raw rows arrive (the next incremental run's), then the logic is fixed: x3, and day 2
  // (2026-01-02) is dropped.
  Sql("INSERT INTO raw.events SELECT i AS id, DATE '2026-01-01' + (i % 6)::INTEGER AS day, i AS "
      "amount FROM range(500, 530) r(i)");
  define("SELECT id, day, amount * 3 AS amount FROM raw.events WHERE day <> DATE '2026-01-02';\n");
  auto ranged = runner_->Run(
      admin_, RunRequest{"clean", false, "manual", PartitionRange{"2026-01-02", "2026-01-03"}});
  ASSERT_TRUE(ranged.ok()) << ranged.status();
  ASSERT_EQ(ranged->state, RunRecord::kSucceeded) << ranged->error;
  EXPECT_EQ(ranged->report["range"]["column"], "day");
  EXPECT_EQ(ranged->report["rows_written"], 100);  // day 3's 100 processed rows, none of day 2
  EXPECT_EQ(ranged->report["files_replaced"], 2);
  EXPECT_EQ(Cell("SELECT count(*) FROM curated.events WHERE day = DATE '2026-01-02'"), "0");
  EXPECT_EQ(Cell("SELECT count(*) || '/' || min(amount / id) || '/' || max(amount / id) FROM "
                 "curated.events WHERE day = DATE '2026-01-03'"),
            "100/3.0/3.0");
  EXPECT_EQ(Cell("SELECT count(*) || '/' || max(amount / id) FROM curated.events WHERE day NOT "
                 "IN (DATE '2026-01-02', DATE '2026-01-03') AND id > 0"),
            "299/2.0");
  // The next incremental run adds the 30 new rows (but day 2's) with the current logic, once.
  RunRecord next = RunJob("clean");
  ASSERT_EQ(next.state, RunRecord::kSucceeded) << next.error;
  EXPECT_EQ(next.report["sources"]["raw.events"]["rows"], 30);
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT id) FROM curated.events"),
            fmt::format("{0}/{0}", 500 - 100 + 30 - 5));

  // What a range re-run refuses, saying why.
  for (const auto& [range, error] : std::vector<std::pair<PartitionRange, std::string>>{
           {{"not a day", "2026-01-03"}, "not values of day (DATE)"},
           {{"2026-01-04", "2026-01-03"}, "--from 2026-01-04 is after --to 2026-01-03"}}) {
    auto refused = runner_->Run(admin_, RunRequest{"clean", false, "manual", range});
    ASSERT_TRUE(refused.ok()) << refused.status();
    EXPECT_EQ(refused->state, RunRecord::kFailed);
    EXPECT_THAT(refused->error, HasSubstr(error));
  }
  auto with_full = runner_->Run(
      admin_, RunRequest{"clean", true, "manual", PartitionRange{"2026-01-01", "2026-01-02"}});
  EXPECT_THAT(with_full->error, HasSubstr("--full and --from/--to"));
  Define({{"name", "upsert"},
          {"sql", "SELECT id, day FROM raw.events"},
          {"target", "curated.upserted"},
          {"mode", "merge"},
          {"keys", {"id"}},
          {"partition_by", {"day"}}});
  auto merge = runner_->Run(
      admin_, RunRequest{"upsert", false, "manual", PartitionRange{"2026-01-01", "2026-01-02"}});
  EXPECT_THAT(merge->error, HasSubstr("is a merge job"));
}

// A range is compared in the target's types: with timestamps in their folders' text (URL-encoded)
// and with a query whose column has another type than the target's (cast as it is written).
TEST_F(JobRunnerTest, ARangeIsComparedInTheTargetsTypes) {
  Sql("CREATE TABLE raw.pings AS SELECT i AS id, TIMESTAMP '2026-01-01 00:00:00' + "
      "INTERVAL (i % 4) HOUR AS hour, DATE '2026-01-01' + (i % 4)::INTEGER AS day FROM range(40) "
      "r(i)");
  Define({{"name", "hourly"},
          {"sql", "SELECT id, hour FROM raw.pings"},
          {"target", "curated.hourly"},
          {"partition_by", {"hour"}}});
  ASSERT_EQ(RunJob("hourly").state, RunRecord::kSucceeded);
  auto hours = runner_->Run(
      admin_,
      RunRequest{"hourly", false, "manual", {{"2026-01-01 01:00:00", "2026-01-01 02:00:00"}}});
  ASSERT_EQ(hours->state, RunRecord::kSucceeded) << hours->error;
  EXPECT_EQ(hours->report["files_replaced"], 2);
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT id) FROM curated.hourly"), "40/40");

  Define({{"name", "daily"},
          {"sql", "SELECT id, day FROM raw.pings"},
          {"target", "curated.daily"},
          {"partition_by", {"day"}}});
  ASSERT_EQ(RunJob("daily").state, RunRecord::kSucceeded);
  // The query now returns a timestamp at 05:00 for each day: written as the DATE, it is in range.
  Define({{"name", "daily"},
          {"sql", "SELECT id, day + INTERVAL 5 HOUR AS day FROM raw.pings"},
          {"target", "curated.daily"},
          {"partition_by", {"day"}}});
  auto days =
      runner_->Run(admin_, RunRequest{"daily", false, "manual", {{"2026-01-03", "2026-01-03"}}});
  ASSERT_EQ(days->state, RunRecord::kSucceeded) << days->error;
  EXPECT_EQ(days->report["rows_written"], 10);
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT id) FROM curated.daily"), "40/40");
}

TEST_F(JobRunnerTest, AnIncrementalJobReadsOneTable) {
  // New files of both sides of a join would lose the new orders of old customers.
  Sql("CREATE TABLE raw.orders AS SELECT 1 AS id, 7 AS customer");
  Sql("CREATE TABLE raw.customers AS SELECT 7 AS id, 'ada' AS name");
  Define(
      {{"name", "joined"},
       {"sql", "SELECT o.id, c.name FROM raw.orders o JOIN raw.customers c ON o.customer = c.id"},
       {"target", "mart.joined"},
       {"incremental", true}});
  RunRecord refused = RunJob("joined");
  EXPECT_EQ(refused.state, RunRecord::kFailed);
  EXPECT_THAT(refused.error, HasSubstr("reads one table"));
}

TEST_F(JobRunnerTest, AnIncrementalRunRefusesASourceThatWasRewritten) {
  Sql("CREATE TABLE raw.c AS SELECT 1 AS id");
  Define({{"name", "copy"},
          {"sql", "SELECT id FROM raw.c"},
          {"target", "x.c"},
          {"incremental", true}});
  ASSERT_EQ(RunJob("copy").state, RunRecord::kSucceeded);
  // Replace the source's files (a job in replace mode writing to it).
  Define({{"name", "rewrite"},
          {"sql", "SELECT 2 AS id"},
          {"target", "raw.c"},
          {"mode", "replace-partitions"}});
  ASSERT_EQ(RunJob("rewrite").state, RunRecord::kSucceeded);
  EXPECT_EQ(Cell("SELECT string_agg(id::VARCHAR, ',') FROM raw.c"), "2");
  RunRecord refused = RunJob("copy");
  EXPECT_EQ(refused.state, RunRecord::kFailed);
  EXPECT_THAT(refused.error, HasSubstr("--full"));
  EXPECT_EQ(Cell("SELECT count(*) FROM x.c"), "1");  // nothing published
  EXPECT_EQ(RunJob("copy", /*full=*/true).state, RunRecord::kSucceeded);
}

TEST_F(JobRunnerTest, AFailedRunPublishesNothingAndLeavesNoObjects) {
  Sql("CREATE TABLE raw.t AS SELECT i AS id FROM range(100) r(i)");
  Define({{"name", "good"}, {"sql", "SELECT id FROM raw.t"}, {"target", "mart.t"}});
  ASSERT_EQ(RunJob("good").state, RunRecord::kSucceeded);
  const std::vector<std::string> before = Keys("tables/mart/t/");
  // Fails while DuckDB writes the result (a cast error on row 51).
  Define({{"name", "good"},
          {"sql",
           "SELECT CASE WHEN id < 50 THEN id ELSE CAST('x' || id AS BIGINT) END AS id "
           "FROM raw.t"},
          {"target", "mart.t"}});
  RunRecord failed = RunJob("good");
  EXPECT_EQ(failed.state, RunRecord::kFailed);
  EXPECT_THAT(failed.error, HasSubstr("x50"));
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.t"), "100");
  EXPECT_EQ(Keys("tables/mart/t/"), before);
  // The run store keeps both, newest first.
  auto runs = lake_.catalog->ListRuns(admin_, "job", "good", 10);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].state, RunRecord::kFailed);
}

TEST_F(JobRunnerTest, RunsOfOneJobNeverOverlap) {
  Define({{"name", "solo"}, {"sql", "SELECT 1 AS one"}, {"target", "mart.solo"}});
  // Another process's run holds the job's lock.
  fs::create_directories(root_ + "/.loch/locks");
  const int fd = open((root_ + "/.loch/locks/job-solo.lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  auto refused = runner_->Run(admin_, RunRequest{"solo"});
  EXPECT_TRUE(absl::IsAborted(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("already running"));
  // Nor is it deleted while it runs (its RUNNING record names what it staged).
  const absl::Status deleted = runner_->Delete(admin_, "solo");
  EXPECT_TRUE(absl::IsAborted(deleted)) << deleted;
  EXPECT_TRUE(lake_.catalog->GetJob(admin_, "solo").ok());
  close(fd);
  EXPECT_EQ(RunJob("solo").state, RunRecord::kSucceeded);
  ASSERT_TRUE(runner_->Delete(admin_, "solo").ok());
  EXPECT_TRUE(absl::IsNotFound(lake_.catalog->GetJob(admin_, "solo").status()));
  EXPECT_TRUE(absl::IsNotFound(runner_->Delete(admin_, "solo")));
}

TEST_F(JobRunnerTest, TheNextRunCleansUpAfterAnInterruptedOne) {
  Define({{"name", "j"}, {"sql", "SELECT 1 AS one"}, {"target", "mart.j"}});
  ASSERT_EQ(RunJob("j").state, RunRecord::kSucceeded);
  // A run whose process died after staging a file.
  const std::string prefix = "tables/mart/j/" + NewTimeOrderedId() + "/";
  ASSERT_TRUE(lake_.store->Put(prefix + "data.parquet", "half written").ok());
  RunRecord dead;
  dead.kind = "job";
  dead.name = "j";
  dead.version = 1;
  dead.pid = 99999;
  dead.report = {{"staging_prefix", prefix}};
  auto dead_id = lake_.catalog->StartRun(admin_, dead);
  ASSERT_TRUE(dead_id.ok());
  const std::vector<std::string> published = Keys("tables/mart/j/");

  ASSERT_EQ(RunJob("j").state, RunRecord::kSucceeded);
  EXPECT_TRUE(Keys(prefix).empty());
  auto interrupted = lake_.catalog->GetRun(admin_, *dead_id);
  EXPECT_EQ(interrupted->state, RunRecord::kFailed);
  EXPECT_THAT(interrupted->error, HasSubstr("interrupted"));
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.j"), "2");
  for (const std::string& key : published) {
    if (key.rfind(prefix, 0) != 0) {
      EXPECT_TRUE(lake_.store->Head(key).ok()) << key;
    }
  }
}

TEST_F(JobRunnerTest, FilesAreSplitNearTheTargetSizeAndSortedWithinPartitions) {
  // ~8 MiB of hard-to-compress text in 2 partitions.
  Sql("CREATE TABLE raw.big AS SELECT i AS id, i % 2 AS half, md5(i::VARCHAR) || "
      "md5((i * 7)::VARCHAR) AS noise FROM range(200000) r(i)");
  Define({{"name", "split"},
          {"sql", "SELECT id, half, noise FROM raw.big"},
          {"target", "mart.big"},
          {"partition_by", {"half"}},
          {"sort_by", {"id"}},
          {"file_size_mib", 1}});
  RunRecord run = RunJob("split");
  ASSERT_EQ(run.state, RunRecord::kSucceeded) << run.error;
  auto table = lake_.catalog->ReadTable(admin_, {"mart", "big"}, std::nullopt);
  ASSERT_TRUE(table.ok());
  std::map<std::string, std::vector<const DataFile*>> by_partition;
  for (const DataFile& file : table->files) {
    by_partition[file.partition_values.at("half")].push_back(&file);
    EXPECT_LT(file.size_bytes, 2 << 20) << file.key;
  }
  ASSERT_EQ(by_partition.size(), 2u);
  for (auto& [half, files] : by_partition) {
    EXPECT_GE(files.size(), 3u) << "partition " << half;
    // Sorted by id: the files' id ranges do not overlap.
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (const DataFile* file : files) {
      for (const ColumnStats& stats : file->stats) {
        if (stats.column == "id")
          ranges.emplace_back(std::stoll(*stats.min), std::stoll(*stats.max));
      }
    }
    ASSERT_EQ(ranges.size(), files.size());
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LT(ranges[i - 1].second, ranges[i].first);
  }
  EXPECT_EQ(Cell("SELECT count(*) || '/' || sum(id) FROM mart.big"), "200000/19999900000");
  EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT id, half, noise FROM raw.big EXCEPT "
                 "SELECT id, half, noise FROM mart.big)"),
            "0");
}

// Merge against an independent computation (a std::map that applies the same batches), on a
// lake that prunes the target's files by the keys' statistics and on one that rewrites every
// file: both must end with exactly the map's rows.
class MergeTest : public testing::TestWithParam<bool> {};

TEST_P(MergeTest, UpsertsAndDeletesMatchAnIndependentComputation) {
  const bool prune = GetParam();
  const TestDir scratch("loch-merge");
  const std::string root = scratch / "lake";
  TestLake lake = OpenTestLake(root, prune);
  JobRunner runner(*lake.catalog, *lake.store, *lake.engine, root + "/.loch/locks");
  const Principal admin = Principal::LocalAdmin();
  auto sql = [&](const std::string& text) {
    const std::string answer = FirstCell(*lake.engine, text);
    EXPECT_NE(answer.rfind("ERROR", 0), 0u) << text << ": " << answer;
  };
  auto spec = JobSpecFromJson({{"name", "upsert"},
                               {"sql",
                                "SELECT id, id // 2500 AS bucket, name, amount, _op FROM "
                                "raw.changes"},
                               {"target", "curated.accounts"},
                               {"mode", "merge"},
                               {"keys", {"id"}},
                               {"partition_by", {"bucket"}},
                               {"sort_by", {"id"}},
                               {"incremental", true}});
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(lake.catalog->PutJob(admin, {"upsert", 0, ToJson(*spec), 0, ""}, false).ok());

  std::map<int64_t, std::pair<std::string, int64_t>> expected;
  std::mt19937 random(7);  // the same batches on both lakes
  for (int batch = 0; batch < 5; ++batch) {
    // Batch 0 inserts 10,000 accounts; later ones update, insert and delete a few hundred.
    std::vector<std::string> rows;
    std::set<int64_t> touched;
    const int count = batch == 0 ? 10000 : 300;
    for (int i = 0; i < count; ++i) {
      const int64_t id = batch == 0 ? i : static_cast<int64_t>(random() % 11000);
      if (!touched.insert(id).second) continue;  // one row per key and batch
      const bool remove = batch > 0 && random() % 4 == 0;
      const std::string name = fmt::format("n{}-{}", id, batch);
      const int64_t amount = static_cast<int64_t>(random() % 1000);
      rows.push_back(fmt::format("({}, '{}', {}, '{}')", id, name, amount, remove ? "D" : "U"));
      if (remove) {
        expected.erase(id);
      } else {
        expected[id] = {name, amount};
      }
    }
    const std::string values =
        fmt::format("SELECT * FROM (VALUES {}) AS v(id, name, amount, _op)", Join(rows, ", "));
    sql(batch == 0 ? "CREATE TABLE raw.changes AS " + values : "INSERT INTO raw.changes " + values);
    auto run = runner.Run(admin, RunRequest{"upsert"});
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_EQ(run->state, RunRecord::kSucceeded) << run->error;
  }
  auto answer =
      lake.engine->Query(admin, "SELECT id, name, amount FROM curated.accounts ORDER BY id");
  ASSERT_TRUE(answer.ok()) << answer.status();
  auto rows = AllRows(**answer);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), expected.size());
  size_t i = 0;
  for (const auto& [id, value] : expected) {
    const std::vector<std::string>& row = (*rows)[i++];
    ASSERT_EQ(row, (std::vector<std::string>{std::to_string(id), value.first,
                                             std::to_string(value.second)}))
        << "row " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(PrunedAndUnpruned, MergeTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Pruned" : "EveryFile";
                         });

// Type-2 history against an independent model: per key, the values it had, in order, and
// whether its last one is current.
TEST_F(JobRunnerTest, HistoryKeepsEveryVersionOfEachKeyAsAnIndependentModelDoes) {
  Define({{"name", "track"},
          {"sql", "SELECT id, plan, seats, _op FROM raw.accounts"},
          {"target", "curated.accounts_history"},
          {"mode", "history"},
          {"keys", {"id"}},
          {"incremental", true}});
  std::map<int64_t, std::vector<std::string>> versions;  // "plan/seats" in order
  std::map<int64_t, bool> current;
  int gaps = 0;  // a key deleted, then back: its versions do not touch
  std::mt19937 random(99);
  for (int batch = 0; batch < 5; ++batch) {
    std::vector<std::string> rows;
    std::set<int64_t> touched;
    const int count = batch == 0 ? 2000 : 200;
    for (int i = 0; i < count; ++i) {
      const int64_t id = batch == 0 ? i : static_cast<int64_t>(random() % 2200);
      if (!touched.insert(id).second) continue;
      const bool remove = batch > 0 && random() % 5 == 0;
      // Often the same values again: an unchanged row must add no version.
      const std::string plan = random() % 2 == 0 ? "basic" : "pro";
      const int64_t seats = 1 + static_cast<int64_t>(random() % 3);
      rows.push_back(fmt::format("({}, '{}', {}, '{}')", id, plan, seats, remove ? "D" : "U"));
      const std::string value = fmt::format("{}/{}", plan, seats);
      if (remove) {
        current[id] = false;
      } else if (!current[id] || versions[id].back() != value) {
        gaps += !current[id] && !versions[id].empty();
        versions[id].push_back(value);
        current[id] = true;
      }
    }
    const std::string values =
        fmt::format("SELECT * FROM (VALUES {}) AS v(id, plan, seats, _op)", Join(rows, ", "));
    Sql(batch == 0 ? "CREATE TABLE raw.accounts AS " + values
                   : "INSERT INTO raw.accounts " + values);
    RunRecord run = RunJob("track");
    ASSERT_EQ(run.state, RunRecord::kSucceeded) << run.error;
  }
  auto answer =
      lake_.engine->Query(admin_,
                          "SELECT id, string_agg(plan || '/' || seats, ',' ORDER BY valid_from), "
                          "bool_or(is_current), count(*) FILTER (WHERE is_current), "
                          "count(*) FILTER (WHERE NOT is_current AND valid_to IS NULL), "
                          "count(*) FILTER (WHERE is_current AND valid_to IS NOT NULL) "
                          "FROM curated.accounts_history GROUP BY id ORDER BY id");
  ASSERT_TRUE(answer.ok()) << answer.status();
  auto rows = AllRows(**answer);
  ASSERT_TRUE(rows.ok()) << rows.status();
  size_t expected_keys = 0;
  for (const auto& [id, values] : versions) expected_keys += !values.empty();
  ASSERT_EQ(rows->size(), expected_keys);
  for (const std::vector<std::string>& row : *rows) {
    const int64_t id = std::stoll(row[0]);
    EXPECT_EQ(row[1], Join(versions[id], ",")) << "key " << id;
    EXPECT_EQ(row[2], current[id] ? "true" : "false") << "key " << id;
    EXPECT_EQ(row[3], current[id] ? "1" : "0") << "key " << id;
    EXPECT_EQ(row[4], "0") << "key " << id << ": a closed version without valid_to";
    EXPECT_EQ(row[5], "0") << "key " << id << ": a current version with valid_to";
  }
  // Each closed version ends where the key's next one starts, unless the key was deleted between.
  EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT valid_to, lead(valid_from) OVER (PARTITION BY id "
                 "ORDER BY valid_from) AS next FROM curated.accounts_history) WHERE next IS NOT "
                 "NULL AND next <> valid_to"),
            std::to_string(gaps));
  EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT valid_to, lead(valid_from) OVER (PARTITION BY id "
                 "ORDER BY valid_from) AS next FROM curated.accounts_history) WHERE next < "
                 "valid_to"),
            "0");
}

TEST_F(JobRunnerTest, AMergeRewritesOnlyTheFilesThatMayHoldItsKeys) {
  Sql("CREATE TABLE raw.base AS SELECT i AS id, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS v "
      "FROM range(300000) r(i)");
  Define({{"name", "load"},
          {"sql", "SELECT id, v FROM raw.base"},
          {"target", "mart.kv"},
          {"mode", "merge"},
          {"keys", {"id"}},
          {"sort_by", {"id"}},
          {"file_size_mib", 1}});
  ASSERT_EQ(RunJob("load").state, RunRecord::kSucceeded);
  auto before = lake_.catalog->ReadTable(admin_, {"mart", "kv"}, std::nullopt);
  ASSERT_GE(before->files.size(), 4u);
  // Change two neighbouring keys: one file holds them.
  Define({{"name", "fix"},
          {"sql", "SELECT id, 'fixed' AS v FROM raw.base WHERE id IN (500, 501)"},
          {"target", "mart.kv"},
          {"mode", "merge"},
          {"keys", {"id"}},
          {"sort_by", {"id"}},
          {"file_size_mib", 1}});
  RunRecord fix = RunJob("fix");
  ASSERT_EQ(fix.state, RunRecord::kSucceeded) << fix.error;
  EXPECT_EQ(fix.report["files_replaced"], 1);
  EXPECT_EQ(fix.report["rows_in_result"], 2);
  auto after = lake_.catalog->ReadTable(admin_, {"mart", "kv"}, std::nullopt);
  std::set<int64_t> kept;
  for (const DataFile& file : after->files) kept.insert(file.file_id);
  int untouched = 0;
  for (const DataFile& file : before->files) untouched += kept.contains(file.file_id);
  EXPECT_EQ(untouched, static_cast<int>(before->files.size()) - 1);
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT id) FROM mart.kv"), "300000/300000");
  EXPECT_EQ(Cell("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM mart.kv WHERE v = 'fixed'"),
            "500,501");

  // A run whose key has another type than the target's matches in the target's type.
  Define({{"name", "decimal"},
          {"sql", "SELECT CAST(i / 10 AS DECIMAL(10, 2)) AS k, 'old' AS v FROM range(1000) r(i)"},
          {"target", "mart.dec"},
          {"mode", "merge"},
          {"keys", {"k"}},
          {"sort_by", {"k"}}});
  ASSERT_EQ(RunJob("decimal").state, RunRecord::kSucceeded);
  Define({{"name", "decimal"},
          {"sql", "SELECT CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE) AS k, 'new' AS v"},
          {"target", "mart.dec"},
          {"mode", "merge"},
          {"keys", {"k"}}});
  RunRecord typed = RunJob("decimal");
  ASSERT_EQ(typed.state, RunRecord::kSucceeded) << typed.error;
  EXPECT_EQ(Cell("SELECT count(*) || '/' || string_agg(v, ',') FROM mart.dec WHERE k = 0.3"),
            "1/new");

  // A key twice in one run's result fails the run, naming it, and publishes nothing.
  Define({{"name", "twice"},
          {"sql", "SELECT 7 AS id, 'a' AS v UNION ALL SELECT 7, 'b'"},
          {"target", "mart.kv"},
          {"mode", "merge"},
          {"keys", {"id"}}});
  RunRecord twice = RunJob("twice");
  EXPECT_EQ(twice.state, RunRecord::kFailed);
  EXPECT_THAT(twice.error, HasSubstr("key (7) appears 2 times"));
  EXPECT_EQ(Cell("SELECT v FROM mart.kv WHERE id = 7"),
            Cell("SELECT v FROM raw.base WHERE id = 7"));
}

// A rollup equals the aggregation computed from every raw row after each run: an incremental run
// merges its partial aggregates of the new rows into the groups they touch (counts and sums add up,
// min and max take the extreme, NULLs as SQL aggregates treat them), adds new groups, leaves the
// files of other groups alone; --full makes it again from everything.
TEST_F(JobRunnerTest, AnIncrementalRollupEqualsTheAggregateOfEveryRow) {
  Sql("CREATE TABLE raw.clicks AS SELECT i AS id, DATE '2026-11-01' + CAST(i % 3 AS INTEGER) AS "
      "day, CASE WHEN i % 13 = 0 THEN NULL ELSE 'p' || (i % 5) END AS page, CASE WHEN i % 11 = 0 "
      "THEN NULL ELSE (i % 7) * 1.5 END AS price FROM range(3000) r(i)");
  Define({{"name", "views"},
          {"sql", "SELECT day, page, price FROM raw.clicks"},
          {"target", "mart.views"},
          {"mode", "rollup"},
          {"group_by", {"day", "page"}},
          {"measures",
           "count(*) AS views, count(price), sum(price) AS revenue, min(price), max(price)"},
          {"partition_by", {"day"}},
          {"incremental", true}});
  const std::string expected =
      "SELECT day, page, count(*) AS views, count(price) AS count_price, sum(price) AS revenue, "
      "min(price) AS min_price, max(price) AS max_price FROM raw.clicks GROUP BY day, page";
  const std::string rollup =
      "SELECT day, page, views, count_price, revenue, min_price, max_price FROM mart.views";
  // Rows in either and not the other, and the rollup's rows.
  auto differences = [&] {
    return Cell(fmt::format("SELECT count(*) FROM (({}) EXCEPT ALL ({}))", expected, rollup)) +
           "," +
           Cell(fmt::format("SELECT count(*) FROM (({}) EXCEPT ALL ({}))", rollup, expected)) +
           "," + Cell("SELECT count(*) FROM mart.views");
  };
  auto files_of_day = [&](const std::string& day) {
    std::set<std::string> keys;
    auto table = lake_.catalog->ReadTable(admin_, {"mart", "views"}, std::nullopt);
    EXPECT_TRUE(table.ok()) << table.status();
    for (const DataFile& file : table->files) {
      if (file.partition_values.at("day") == day) keys.insert(file.key);
    }
    return keys;
  };
  RunRecord first = RunJob("views");
  ASSERT_EQ(first.state, RunRecord::kSucceeded) << first.error;
  EXPECT_EQ(differences(), "0,0,18");
  const std::set<std::string> first_day = files_of_day("2026-11-01");
  ASSERT_FALSE(first_day.empty());

  // New rows for an existing day (new extremes, NULLs, an existing NULL page) and a new day.
  Sql("INSERT INTO raw.clicks SELECT 3000 + i, DATE '2026-11-03' + CAST(i % 2 AS INTEGER), "
      "CASE WHEN i = 2 THEN NULL ELSE 'p' || (i % 6) END, CASE WHEN i = 0 THEN 1000.5 WHEN i = 1 "
      "THEN -3 ELSE NULL END FROM range(40) r(i)");
  RunRecord second = RunJob("views");
  ASSERT_EQ(second.state, RunRecord::kSucceeded) << second.error;
  EXPECT_TRUE(second.report["incremental"].get<bool>());
  EXPECT_EQ(differences(), "0,0," + Cell(fmt::format("SELECT count(*) FROM ({})", expected)));
  EXPECT_EQ(files_of_day("2026-11-01"), first_day);  // groups the run did not touch

  RunRecord nothing = RunJob("views");
  EXPECT_THAT(nothing.report.value("note", ""), HasSubstr("nothing new"));
  RunRecord full = RunJob("views", /*full=*/true);
  ASSERT_EQ(full.state, RunRecord::kSucceeded) << full.error;
  EXPECT_EQ(differences(), "0,0," + Cell(fmt::format("SELECT count(*) FROM ({})", expected)));
  EXPECT_NE(files_of_day("2026-11-01"), first_day);  // everything made again

  // A target dropped to start over is made from everything, not from the rows since the bookmark.
  Sql("INSERT INTO raw.clicks SELECT 5000, DATE '2026-11-02', 'p1', 2");
  Sql("DROP TABLE mart.views");
  RunRecord rebuilt = RunJob("views");
  ASSERT_EQ(rebuilt.state, RunRecord::kSucceeded) << rebuilt.error;
  EXPECT_FALSE(rebuilt.report["incremental"].get<bool>());
  EXPECT_EQ(differences(), "0,0," + Cell(fmt::format("SELECT count(*) FROM ({})", expected)));
}

TEST(JobSpecTest, FieldsAreCheckedAndMisspeltOnesRefused) {
  nlohmann::json job = {{"name", "j"}, {"sql", "SELECT 1"}, {"target", "a.b"}};
  ASSERT_TRUE(JobSpecFromJson(job).ok());
  auto check = [&](nlohmann::json changed, const std::string& message) {
    auto spec = JobSpecFromJson(changed);
    EXPECT_TRUE(absl::IsInvalidArgument(spec.status()) || absl::IsUnimplemented(spec.status()))
        << changed.dump() << ": " << spec.status();
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(message)) << changed.dump();
  };
  nlohmann::json changed = job;
  changed["partiton_by"] = {"day"};
  check(changed, "unknown job field \"partiton_by\"");
  changed = job;
  changed.erase("target");
  check(changed, "\"target\": missing");
  changed = job;
  changed["mode"] = "upsert";
  check(changed, "unknown mode \"upsert\"");
  changed = job;
  changed["file_size_mib"] = 0;
  check(changed, "file_size_mib");
  changed = job;
  changed["sort_by"] = {"a", "a"};
  check(changed, "twice");
  changed = job;
  changed["sql"] = " \n";
  check(changed, "empty");
  changed = job;
  changed["target"] = "nodot";
  check(changed, "DATABASE.TABLE");
}

TEST(JobSpecTest, RollupMeasuresAreParsedStrictly) {
  auto measures =
      ParseMeasures(" COUNT(*), sum(price) AS revenue,min( \"unit price\" ),max(x)as top");
  ASSERT_TRUE(measures.ok()) << measures.status();
  EXPECT_EQ(*measures, (std::vector<Measure>{{"count", "", "count"},
                                             {"sum", "price", "revenue"},
                                             {"min", "unit price", "min_unit price"},
                                             {"max", "x", "top"}}));
  for (const Measure& measure : *measures) {  // the stored text reads back the same
    auto again = ParseMeasures(measure.ToText());
    ASSERT_TRUE(again.ok()) << measure.ToText() << ": " << again.status();
    EXPECT_EQ(again->front(), measure);
  }
  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"avg(price)", "does not merge"},
           {"count(DISTINCT user_id)", "does not merge"},
           {"median(x)", "count, sum, min and max"},
           {"sum(*)", "only count takes *"},
           {"sum(price", "expected )"},
           {"sum(price) revenue", "expected AS NAME"},
           {"sum(a) AS x, max(b) AS X", "two measures are named"},
           {"", "must be FUNCTION(COLUMN)"},
           {"sum(a),", "must be FUNCTION(COLUMN)"},
           {"sum(\"a)", "expected a column name"},
           {"sum(a) AS x y", "expected the end"}}) {
    auto refused = ParseMeasures(text);
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << text;
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr(message)) << text;
  }
  nlohmann::json rollup = {{"name", "r"},
                           {"sql", "SELECT day, page, price FROM t.c"},
                           {"target", "a.b"},
                           {"mode", "rollup"},
                           {"group_by", {"day"}},
                           {"measures", {"count(*)", "sum(price)"}},
                           {"partition_by", {"day"}}};
  auto spec = JobSpecFromJson(rollup);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(ToJson(*spec)["measures"],
            nlohmann::json({"count(*) AS count", "sum(price) AS sum_price"}));
  EXPECT_EQ(JobSpecFromJson(ToJson(*spec))->measures, spec->measures);
  for (const auto& [field, value, message] :
       std::vector<std::tuple<std::string, nlohmann::json, std::string>>{
           {"group_by", nullptr, "needs the columns"},
           {"measures", nullptr, "needs what it keeps"},
           {"measures", "sum(day)", "group_by column"},
           {"measures", 7, "a text or a list"},
           {"partition_by", {"page"}, "not a group_by column"},
           {"sort_by", {"price"}, "not a column of the rollup"},
           {"mode", "append", "only rollup jobs"}}) {
    nlohmann::json changed = rollup;
    changed[field] = value;
    if (field == "measures" && value == "sum(day)") changed["measures"] = "sum(day) AS day";
    auto refused = JobSpecFromJson(changed);
    EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << changed.dump();
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr(message)) << changed.dump();
  }
}

TEST(JobSpecTest, YamlFilesHaveTheSameFields) {
  auto spec = JobSpecFromYaml(R"(
name: clean_clicks
target: curated.clicks
mode: replace-partitions
partition_by: [day]
sort_by:
  - user_id
  - ts
file_size_mib: 64
incremental: true
sql: |
  SELECT user_id, ts, CAST(ts AS DATE) AS day
  FROM raw.clicks
)");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->target.ToString(), "curated.clicks");
  EXPECT_EQ(spec->mode, WriteMode::kReplacePartitions);
  EXPECT_EQ(spec->sort_by, (std::vector<std::string>{"user_id", "ts"}));
  EXPECT_EQ(spec->file_size_mib, 64);
  EXPECT_TRUE(spec->incremental);
  EXPECT_THAT(spec->sql, HasSubstr("FROM raw.clicks"));

  auto broken = JobSpecFromYaml("name: [unclosed\n");
  EXPECT_THAT(std::string(broken.status().message()), HasSubstr("line"));
  auto deep = JobSpecFromYaml("name: " + std::string(100000, '[') + "\n");
  EXPECT_THAT(std::string(deep.status().message()), HasSubstr("nests deeper"));
  auto list = JobSpecFromYaml("- a\n- b\n");
  EXPECT_THAT(std::string(list.status().message()), HasSubstr("mapping"));
  auto number = JobSpecFromYaml("name: j\nsql: SELECT 1\ntarget: a.b\nfile_size_mib: big\n");
  EXPECT_THAT(std::string(number.status().message()), HasSubstr("file_size_mib"));
}

// Six messy rows: two good, four failing a cast or a required column (six failures in all).
class QuarantineTest : public JobRunnerTest {
 protected:
  void SetUp() override {
    JobRunnerTest::SetUp();
    Sql("CREATE TABLE raw.orders AS SELECT * FROM (VALUES "
        "('1', '12.50', '2024-01-02 10:00:00'), "
        "('2', 'abc', '2024-01-03 10:00:00'), "
        "(NULL, '5', '2024-01-04 10:00:00'), "
        "('4', '99999999999', 'yesterday'), "
        "('5', '7', '2024-01-05 10:00:00'), "
        "('x6', '-3', '2024-02-30')) t(id, amount, ts)");
  }
  void DefineOrders(double max_bad_fraction) {
    Define({{"name", "orders"},
            {"sql", "SELECT id, amount, ts FROM raw.orders"},
            {"target", "mart.orders"},
            {"types", {{"id", "BIGINT"}, {"amount", "DECIMAL(10,2)"}, {"ts", "TIMESTAMP"}}},
            {"required", {"id"}},
            {"max_bad_fraction", max_bad_fraction}});
  }
};

TEST_F(QuarantineTest, OverTheMaximumNothingIsPublishedAnywhere) {
  DefineOrders(0.5);
  RunRecord run = RunJob("orders");
  ASSERT_EQ(run.state, RunRecord::kFailed);
  EXPECT_THAT(run.error, HasSubstr("4 of 6 rows"));
  EXPECT_THAT(run.error, HasSubstr("max_bad_fraction 50%"));
  EXPECT_THAT(run.error, HasSubstr("column \"amount\": cannot cast to DECIMAL(10,2)"));
  EXPECT_EQ(run.report["rows_quarantined"], 4);
  EXPECT_TRUE(absl::IsNotFound(
      lake_.catalog->ReadTable(admin_, {"mart", "orders"}, std::nullopt).status()));
  EXPECT_TRUE(absl::IsNotFound(
      lake_.catalog->ReadTable(admin_, {"quarantine", "mart"}, std::nullopt).status()));
  EXPECT_TRUE(Keys("tables/mart/").empty());
  EXPECT_TRUE(Keys("quarantine/").empty());
}

TEST_F(QuarantineTest, BadRowsAreQuarantinedWithExactReasonsAndGoodOnesPublished) {
  DefineOrders(0.7);
  RunRecord run = RunJob("orders");
  ASSERT_EQ(run.state, RunRecord::kSucceeded) << run.error;
  EXPECT_EQ(run.report["rows_quarantined"], 4);
  EXPECT_EQ(run.report["rows_written"], 2);
  EXPECT_EQ(Cell("SELECT string_agg(id || ' ' || amount || ' ' || ts, ', ' ORDER BY id) || ' ' || "
                 "any_value(typeof(amount)) FROM mart.orders"),
            "1 12.50 2024-01-02 10:00:00, 5 7.00 2024-01-05 10:00:00 DECIMAL(10,2)");
  // One row per failure, with the column, the value and the reason; a bad row's failures share
  // its bad_row, and its original is the row as the query returned it.
  const std::string run_id = std::to_string(run.run_id);
  EXPECT_EQ(Cell("SELECT string_agg(column_name || '=' || coalesce(value, 'NULL') || ': ' || "
                 "reason, '; ' ORDER BY column_name, coalesce(value, 'NULL')) FROM quarantine.mart "
                 "WHERE run_id = " +
                 run_id + " AND target_table = 'orders' AND job = 'orders'"),
            "amount=99999999999: cannot cast to DECIMAL(10,2); amount=abc: cannot cast to "
            "DECIMAL(10,2); id=NULL: required column is NULL; id=x6: cannot cast to BIGINT; "
            "ts=2024-02-30: cannot cast to TIMESTAMP; ts=yesterday: cannot cast to TIMESTAMP");
  EXPECT_EQ(Cell("SELECT count(DISTINCT bad_row) || ' ' || count(*) FROM quarantine.mart"), "4 6");
  EXPECT_EQ(Cell("SELECT string_agg(DISTINCT original, ' | ') FROM quarantine.mart WHERE "
                 "bad_row IN (SELECT bad_row FROM quarantine.mart WHERE value = 'x6')"),
            "{\"id\":\"x6\",\"amount\":\"-3\",\"ts\":\"2024-02-30\"}");
  EXPECT_EQ(run.report["failures"].size(), 4u);  // (column, reason) pairs, most frequent first
  EXPECT_EQ(run.report["failures"][0]["rows"], 2);

  // The next run reads everything again: the same rows are quarantined again, under its run.
  RunRecord again = RunJob("orders");
  ASSERT_EQ(again.state, RunRecord::kSucceeded) << again.error;
  EXPECT_EQ(
      Cell("SELECT count(*) FROM quarantine.mart WHERE run_id = " + std::to_string(again.run_id)),
      "6");
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.orders"), "4");  // append: two runs' good rows
}

// Without `types`, the values are cast to the target's column types, and a value that does not
// fit one is quarantined instead of failing the run.
TEST_F(QuarantineTest, AnExistingTargetsTypesAreCheckedToo) {
  Sql("CREATE TABLE mart.orders AS SELECT CAST(0 AS BIGINT) AS id, CAST(0 AS DOUBLE) AS amount");
  Define({{"name", "orders"},
          {"sql", "SELECT id, amount FROM raw.orders WHERE id IS NOT NULL"},
          {"target", "mart.orders"},
          {"max_bad_fraction", 1}});
  RunRecord run = RunJob("orders");
  ASSERT_EQ(run.state, RunRecord::kSucceeded) << run.error;
  EXPECT_EQ(Cell("SELECT string_agg(id || ':' || amount, ' ' ORDER BY id) FROM mart.orders"),
            "0:0.0 1:12.5 4:99999999999.0 5:7.0");
  EXPECT_EQ(Cell("SELECT string_agg(column_name || '=' || value, ' ' ORDER BY value) FROM "
                 "quarantine.mart"),
            "amount=abc id=x6");
  // The same job without a quarantine fails on the first value that does not cast.
  Define({{"name", "orders"},
          {"sql", "SELECT id, amount FROM raw.orders WHERE id IS NOT NULL"},
          {"target", "mart.orders"}});
  RunRecord strict = RunJob("orders");
  EXPECT_EQ(strict.state, RunRecord::kFailed);
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.orders"), "4");
}

// The quarantine is committed after the target: a run that fails before its target commit
// quarantines nothing (its re-run quarantines those rows once) and leaves no staged file.
TEST_F(QuarantineTest, ARunThatFailsBeforeItsTargetCommitQuarantinesNothing) {
  Define({{"name", "orders"},
          {"sql", "SELECT CAST(id = '1' AS INTEGER) AS k, amount FROM raw.orders"},
          {"target", "mart.orders"},
          {"mode", "merge"},
          {"keys", {"k"}},
          {"types", {{"amount", "DECIMAL(10,2)"}}},
          {"max_bad_fraction", 1}});
  RunRecord failed = RunJob("orders");  // key 0 twice in the good rows: the merge refuses
  ASSERT_EQ(failed.state, RunRecord::kFailed);
  EXPECT_THAT(failed.error, HasSubstr("appears 2 times"));
  EXPECT_EQ(failed.report["rows_quarantined"], 2);
  EXPECT_TRUE(absl::IsNotFound(
      lake_.catalog->ReadTable(admin_, {"quarantine", "mart"}, std::nullopt).status()));
  EXPECT_TRUE(Keys("quarantine/").empty());
  EXPECT_TRUE(Keys("tables/mart/").empty());
  EXPECT_TRUE(absl::IsNotFound(
      lake_.catalog->ReadTable(admin_, {"mart", "orders"}, std::nullopt).status()));
}

// A merge's delete row is checked on its keys only: its other columns may be anything.
TEST_F(QuarantineTest, AMergeDeleteIsCheckedOnItsKeysOnly) {
  Sql("CREATE TABLE raw.cdc AS SELECT * FROM (VALUES ('1', '10', 'U'), ('2', '20', 'U'), "
      "('1', 'junk', 'D'), ('x', '5', 'D')) t(id, amount, _op)");
  auto define = [&](const std::string& op) {
    Define({{"name", "cdc"},
            {"sql", "SELECT id, amount, _op FROM raw.cdc WHERE _op = '" + op + "'"},
            {"target", "mart.cdc"},
            {"mode", "merge"},
            {"keys", {"id"}},
            {"types", {{"id", "BIGINT"}, {"amount", "BIGINT"}}},
            {"required", {"amount"}},
            {"max_bad_fraction", 1}});
  };
  define("U");
  ASSERT_EQ(RunJob("cdc").state, RunRecord::kSucceeded);
  define("D");
  RunRecord deletes = RunJob("cdc");
  ASSERT_EQ(deletes.state, RunRecord::kSucceeded) << deletes.error;
  EXPECT_EQ(Cell("SELECT string_agg(id || ':' || amount, ' ') FROM mart.cdc"), "2:20");
  EXPECT_EQ(Cell("SELECT string_agg(column_name || '=' || value, ' ') FROM quarantine.mart"),
            "id=x");  // the delete of 1 went through despite its amount; x is no key
}

// A declared type must agree with an existing target's: the stager would cast again after the
// check, failing the run or changing the values.
TEST_F(QuarantineTest, ADeclaredTypeMustAgreeWithTheTargets) {
  Sql("CREATE TABLE mart.orders AS SELECT CAST(1 AS BIGINT) AS id");
  Define({{"name", "orders"},
          {"sql", "SELECT id FROM raw.orders"},
          {"target", "mart.orders"},
          {"types", {{"ID", "DOUBLE"}}}});
  RunRecord run = RunJob("orders");
  EXPECT_EQ(run.state, RunRecord::kFailed);
  EXPECT_THAT(run.error, HasSubstr("casts column \"ID\" to DOUBLE, but target mart.orders has it "
                                   "as BIGINT"));
  auto doubled = JobSpecFromJson({{"name", "j"},
                                  {"sql", "SELECT 1"},
                                  {"target", "a.b"},
                                  {"types", {{"x", "INT"}, {"X", "INT"}}}});
  EXPECT_THAT(std::string(doubled.status().message()), HasSubstr("twice"));
  auto hostile = JobSpecFromJson({{"name", "j"},
                                  {"sql", "SELECT 1"},
                                  {"target", "a.b"},
                                  {"types", {{"x", "/*((*/ INTEGER) AS a, 1 /*)*/ --"}}}});
  EXPECT_THAT(std::string(hostile.status().message()), HasSubstr("not a type name"));
}

TEST_F(QuarantineTest, ChecksThatDoNotFitAreRefused) {
  auto spec = JobSpecFromJson(
      {{"name", "j"}, {"sql", "SELECT 1"}, {"target", "a.b"}, {"max_bad_fraction", 1.5}});
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("max_bad_fraction"));
  spec = JobSpecFromJson(
      {{"name", "j"}, {"sql", "SELECT 1"}, {"target", "a.b"}, {"types", {{"x", "INT("}}}});
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("not a type name"));
  Define({{"name", "orders"},
          {"sql", "SELECT id FROM raw.orders"},
          {"target", "mart.orders"},
          {"required", {"amount"}}});
  RunRecord run = RunJob("orders");
  EXPECT_EQ(run.state, RunRecord::kFailed);
  EXPECT_THAT(run.error, HasSubstr("checks column \"amount\""));
  // A quarantine table that is not one is not written into.
  Sql("CREATE TABLE quarantine.mart AS SELECT 1 AS x");
  DefineOrders(0.7);
  RunRecord refused = RunJob("orders");
  EXPECT_EQ(refused.state, RunRecord::kFailed);
  EXPECT_THAT(refused.error, HasSubstr("is not a quarantine table"));
  EXPECT_TRUE(absl::IsNotFound(
      lake_.catalog->ReadTable(admin_, {"mart", "orders"}, std::nullopt).status()));
  EXPECT_TRUE(Keys("quarantine/").empty());
  // The stored form keeps the checks (and a job without them keeps its old form).
  auto stored = JobSpecFromJson(ToJson(*JobSpecFromJson(
      {{"name", "j"}, {"sql", "SELECT 1"}, {"target", "a.b"}, {"types", {{"x", "INT"}}}})));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->types.at("x"), "INT");
  EXPECT_EQ(stored->max_bad_fraction, 0);
  EXPECT_FALSE(ToJson(*JobSpecFromJson({{"name", "j"}, {"sql", "SELECT 1"}, {"target", "a.b"}}))
                   .contains("types"));
}

// Data-quality rules are evaluated on what a run is about to publish: an error-severity failure
// publishes nothing; warnings are recorded and the run goes on; every outcome is a row of
// loch.dq_results.
TEST_F(JobRunnerTest, DataQualityRulesGateThePublishAndAreKeptPerRun) {
  Sql("CREATE TABLE crm.users AS SELECT i AS id FROM range(5) r(i)");
  Sql("CREATE TABLE raw.events AS SELECT i AS id, i % 7 AS user_id, TIMESTAMP '2026-12-01 "
      "10:00:00' + to_minutes(i) AS ts, CASE WHEN i = 3 THEN NULL ELSE 'ok' END AS note FROM "
      "range(20) r(i)");
  auto define = [&](const std::string& rules) {
    Define({{"name", "events"},
            {"sql", "SELECT id, user_id, ts, note FROM raw.events"},
            {"target", "mart.events"},
            {"rules", rules}});
  };
  // Every rule kind, each once passing and once failing.
  define(
      "IsComplete \"id\"\n"
      "IsUnique \"id\"\n"
      "ColumnValues \"id\" between 0 and 19\n"
      "ColumnValues \"note\" in [\"ok\"]\n"
      "ColumnValues \"note\" matches \"o.\"\n"
      "RowCount = 20\n"
      "Freshness \"ts\" <= 30000 days\n"
      "CustomSql \"SELECT max(id) FROM output\" = 19\n"
      "IsComplete \"note\" severity warn\n"
      "ReferentialIntegrity \"user_id\" \"crm.users.id\" severity warn\n");
  RunRecord passed = RunJob("events");
  ASSERT_EQ(passed.state, RunRecord::kSucceeded) << passed.error;
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.events"), "20");
  EXPECT_EQ(Cell("SELECT string_agg(outcome || ':' || coalesce(observed, '-'), ' ' ORDER BY "
                 "line) FROM loch.dq_results WHERE run_id = " +
                 std::to_string(passed.run_id)),
            "passed:0 passed:0 passed:0 passed:0 passed:0 passed:20 passed:2026-12-01 10:19:00 "
            "passed:19 failed:1 failed:5");  // user_id 5 and 6 (5 rows) are no user
  EXPECT_EQ(Cell("SELECT message FROM loch.dq_results WHERE line = 10"), "5 row(s) break it");

  define(
      "IsComplete \"note\"\n"
      "IsUnique \"user_id\"\n"
      "ColumnValues \"id\" < 10\n"
      "RowCount between 1 and 5\n"
      "Freshness \"ts\" < 1 hour\n"
      "CustomSql \"SELECT count(*) FROM output WHERE id > 100\" > 0\n"
      "ReferentialIntegrity \"user_id\" \"crm.users.id\"\n"
      "ColumnValues \"nope\" > 1\n");
  RunRecord failed = RunJob("events");
  ASSERT_EQ(failed.state, RunRecord::kFailed);
  EXPECT_THAT(failed.error, HasSubstr("data-quality rules failed, so nothing was published"));
  EXPECT_THAT(failed.error, HasSubstr("line 2 `IsUnique \"user_id\"` failed: 7 value(s) appear "
                                      "more than once"));
  EXPECT_THAT(failed.error, HasSubstr("line 8 `ColumnValues \"nope\" > 1` error:"));
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.events"), "20");  // nothing published
  EXPECT_EQ(Cell("SELECT string_agg(outcome, ' ' ORDER BY line) FROM loch.dq_results WHERE "
                 "run_id = " +
                 std::to_string(failed.run_id)),
            "failed failed failed failed failed failed failed error");
  EXPECT_TRUE(
      Keys("tables/mart/events/" + failed.report["staging_prefix"].get<std::string>().substr(
                                       std::string("tables/mart/events/").size()))
          .empty());
}

}  // namespace
}  // namespace loch::etl
