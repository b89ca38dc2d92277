// ETL jobs end to end, through the `loch` binary: YAML apply, runs and their reports, and real
// crashes: a run killed between staging its files and committing them (stopped there by a fault
// point, see common/fault_point.h) and runs killed at random moments. Whatever the moment, the
// target shows all of a run or none of it, a second run of the job is refused while one runs, and
// the next run leaves no object in the table's folder that the catalog does not name. Also
// `loch compact` of a job's raw source, killed before its commit and run again.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "catalog/catalog.h"
#include "common/ids.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "tests/support/child_process.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing_support::ChildProcess;
using Outcome = testing_support::CommandOutcome;

class JobE2eTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Loch({"init"}).exit_code, 0); }

  std::string Lake() const { return (work_ / "lake").string(); }

  Outcome Loch(std::vector<std::string> args, const std::string& env = "") {
    args.push_back("--lake");
    args.push_back(Lake());
    return testing_support::RunCommand(LOCH_BINARY, args, env);
  }

  std::string Cell(const std::string& sql) {
    Outcome outcome = Loch({"sql", sql, "--format", "csv"});
    if (outcome.exit_code != 0) return "ERROR: " + outcome.err;
    const size_t header = outcome.out.find('\n');
    std::string value = outcome.out.substr(header + 1);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    return value;
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(work_ / name) << text;
  }

  // The objects in the lake folder under tables/DB/TABLE/ that no table (in any snapshot) names.
  std::vector<std::string> Orphans(const std::string& table_prefix) {
    auto catalog = OpenSqliteCatalog(Lake() + "/.loch/catalog.sqlite");
    EXPECT_TRUE(catalog.ok()) << catalog.status();
    auto known = (*catalog)->KnownKeys(Principal::LocalAdmin(), table_prefix);
    EXPECT_TRUE(known.ok()) << known.status();
    const std::set<std::string> named(known->begin(), known->end());
    std::vector<std::string> orphans;
    const fs::path folder = fs::path(Lake()) / table_prefix;
    if (!fs::exists(folder)) return orphans;
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      if (!entry.is_regular_file()) continue;
      const std::string key = fs::relative(entry.path(), Lake()).string();
      // A file a killed upload left half-written is no object (listings skip it); vacuum removes
      // such temporaries after a day.
      if (entry.path().filename().string().starts_with(".loch-tmp-")) continue;
      if (!named.contains(key)) orphans.push_back(key);
    }
    return orphans;
  }

  std::unique_ptr<ChildProcess> StartRun(const std::string& job, const std::string& log,
                                         const std::vector<std::string>& environment = {}) {
    return ChildProcess::Start(LOCH_BINARY, {"job", "run", job, "--lake", Lake()},
                               (work_ / log).string(), environment);
  }

  TestDir scratch_{"loch-jobs"};
  fs::path work_ = scratch_.path();
};

TEST_F(JobE2eTest, YamlJobsAreAppliedVersionedRunAndReported) {
  ASSERT_EQ(Loch({"sql",
                  "CREATE TABLE raw.clicks AS SELECT i AS id, i % 7 AS user_id, "
                  "TIMESTAMP '2026-11-01' + INTERVAL (i * 37) SECOND AS ts FROM "
                  "range(20000) r(i)"})
                .exit_code,
            0);
  fs::create_directories(work_ / "jobs");
  WriteFile("jobs/clean.yaml", R"(name: clean
target: curated.clicks
partition_by: [day]
sort_by: [user_id]
incremental: true
sql: |
  SELECT id, user_id, ts, CAST(ts AS DATE) AS day
  FROM raw.clicks
)");
  WriteFile("jobs/daily.yml", R"(name: daily
target: mart.daily
mode: replace-partitions
partition_by: [day]
sql: SELECT day, count(*) AS clicks, count(DISTINCT user_id) AS users FROM curated.clicks GROUP BY day
rules: |
  RowCount > 0
  IsUnique "day"
  ColumnValues "users" > 7 severity warn
)");
  WriteFile("jobs/per_user.yaml", R"(name: per_user
target: mart.per_user
mode: rollup
incremental: true
group_by: [day, user_id]
measures: count(*) AS clicks, max(ts) AS last_seen
partition_by: [day]
sql: SELECT day, user_id, ts FROM curated.clicks
)");
  WriteFile("jobs/README.txt", "not a job");
  Outcome applied = Loch({"job", "apply", (work_ / "jobs").string()});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_THAT(applied.out, HasSubstr("clean                    created (version 1)"));
  EXPECT_THAT(applied.out, HasSubstr("daily                    created (version 1)"));
  Outcome again = Loch({"job", "apply", (work_ / "jobs").string()});
  EXPECT_THAT(again.out, HasSubstr("unchanged (version 1)"));

  Outcome clean = Loch({"job", "run", "clean"});
  ASSERT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_THAT(clean.out, HasSubstr("SUCCEEDED"));
  EXPECT_THAT(clean.out, HasSubstr("20,000 rows"));
  Outcome daily = Loch({"job", "run", "daily"});
  ASSERT_EQ(daily.exit_code, 0) << daily.out << daily.err;
  EXPECT_THAT(daily.out, HasSubstr("rule     line 2: IsUnique \"day\": passed"));
  EXPECT_THAT(daily.out,
              HasSubstr("rule     line 3: ColumnValues \"users\" > 7 severity warn: failed, 9 "
                        "row(s) break it"));
  const std::string per_user_differs =
      "SELECT count(*) FROM (SELECT CAST(ts AS DATE) AS day, user_id, count(*), max(ts) FROM "
      "raw.clicks GROUP BY ALL EXCEPT ALL SELECT day, user_id, clicks, last_seen FROM "
      "mart.per_user)";
  Outcome per_user = Loch({"job", "run", "per_user"});
  ASSERT_EQ(per_user.exit_code, 0) << per_user.out << per_user.err;
  EXPECT_EQ(Cell(per_user_differs), "0");
  // The rollup equals the same aggregation computed straight from the raw table.
  EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT CAST(ts AS DATE) AS day, count(*), count(DISTINCT "
                 "user_id) FROM raw.clicks GROUP BY 1 EXCEPT SELECT day, clicks, users FROM "
                 "mart.daily)"),
            "0");

  // New raw rows: the incremental job reads only them; the rollup replaces the days they touch.
  ASSERT_EQ(Loch({"sql",
                  "INSERT INTO raw.clicks SELECT 100000 + i, 3, TIMESTAMP '2026-11-02 "
                  "12:00:00' FROM range(50) r(i)"})
                .exit_code,
            0);
  Outcome second = Loch({"job", "run", "clean"});
  EXPECT_THAT(second.out, HasSubstr("50 rows (committed after snapshot"));
  // The incremental rollup merges what the new curated rows add into their groups.
  ASSERT_EQ(Loch({"job", "run", "per_user"}).exit_code, 0);
  EXPECT_EQ(Cell(per_user_differs), "0");
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.per_user"),
            Cell("SELECT count(DISTINCT (CAST(ts AS DATE), user_id)) FROM raw.clicks"));
  EXPECT_THAT(Loch({"job", "describe", "per_user"}).out,
              HasSubstr("measures       count(*) AS clicks, max(ts) AS last_seen"));
  ASSERT_EQ(Loch({"job", "run", "daily"}).exit_code, 0);
  EXPECT_EQ(Cell("SELECT count(*) FROM (SELECT CAST(ts AS DATE) AS day, count(*), count(DISTINCT "
                 "user_id) FROM raw.clicks GROUP BY 1 EXCEPT SELECT day, clicks, users FROM "
                 "mart.daily)"),
            "0");
  EXPECT_EQ(Cell("SELECT count(*) FROM mart.daily"),
            Cell("SELECT count(DISTINCT CAST(ts AS DATE)) FROM raw.clicks"));

  // A changed file is a new version; describe shows both, runs shows the history.
  WriteFile("jobs/daily.yml", R"(name: daily
target: mart.daily
mode: replace-partitions
partition_by: [day]
description: clicks and users per day
sql: SELECT day, count(*) AS clicks, count(DISTINCT user_id) AS users FROM curated.clicks GROUP BY day
)");
  EXPECT_THAT(Loch({"job", "apply", (work_ / "jobs/daily.yml").string()}).out,
              HasSubstr("updated to version 2"));
  Outcome described = Loch({"job", "describe", "daily"});
  EXPECT_THAT(described.out, HasSubstr("clicks and users per day"));
  EXPECT_THAT(described.out, HasSubstr("versions:\n    1"));
  Outcome runs = Loch({"job", "runs", "clean"});
  EXPECT_EQ(std::count(runs.out.begin(), runs.out.end(), '\n'), 3) << runs.out;  // header + 2
  Outcome listed = Loch({"job", "list"});
  EXPECT_THAT(listed.out, HasSubstr("curated.clicks"));

  // Errors name what is wrong.
  WriteFile("bad.yaml", "name: broken\ntarget: x.y\nsql: SELECT * FROM raw.nope\n");
  Outcome bad = Loch({"job", "apply", (work_ / "bad.yaml").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("raw.nope"));
  WriteFile("typo.yaml", "name: t\ntarget: x.y\nsql: SELECT 1\npartiton_by: [a]\n");
  EXPECT_THAT(Loch({"job", "apply", (work_ / "typo.yaml").string()}).err,
              HasSubstr("unknown job field \"partiton_by\""));
  EXPECT_THAT(Loch({"job", "run", "nope"}).err, HasSubstr("the jobs are: clean, daily"));
  EXPECT_THAT(
      Loch({"job", "create", "self", "--sql", "SELECT * FROM raw.clicks", "--target", "raw.clicks"})
          .err,
      HasSubstr("reads its own target"));
  ASSERT_EQ(Loch({"job", "delete", "daily"}).exit_code, 0);
  EXPECT_EQ(Cell("SELECT count(*) > 0 FROM mart.daily"), "true");  // its table stays
}

TEST_F(JobE2eTest, ARunKilledBeforeItsCommitLeavesNoTraceAndBlocksNoOne) {
  ASSERT_EQ(Loch({"sql",
                  "CREATE TABLE raw.e AS SELECT i AS id, i % 10 AS k FROM range(100000) "
                  "r(i)"})
                .exit_code,
            0);
  ASSERT_EQ(Loch({"job", "create", "copy", "--sql", "SELECT id, k FROM raw.e", "--target",
                  "curated.e", "--partition-by", "k"})
                .exit_code,
            0);
  ASSERT_EQ(Loch({"job", "run", "copy"}).exit_code, 0);
  EXPECT_EQ(Cell("SELECT count(*) FROM curated.e"), "100000");

  auto paused = StartRun("copy", "paused.log", {"LOCH_FAULT_PAUSE=job-before-commit"});
  ASSERT_NE(paused, nullptr);
  ASSERT_TRUE(
      paused->WaitForLog("paused at fault point job-before-commit", std::chrono::seconds(60)))
      << paused->Log();
  // Its files are staged, not visible; a second run of the job is refused meanwhile.
  EXPECT_FALSE(Orphans("tables/curated/e/").empty());
  EXPECT_EQ(Cell("SELECT count(*) FROM curated.e"), "100000");
  Outcome overlapping = Loch({"job", "run", "copy"});
  EXPECT_EQ(overlapping.exit_code, 1);
  EXPECT_THAT(overlapping.err, HasSubstr("already running"));
  EXPECT_THAT(Loch({"job", "runs", "copy"}).out, HasSubstr("RUNNING"));

  paused->Kill();
  EXPECT_EQ(Cell("SELECT count(*) FROM curated.e"), "100000");
  Outcome next = Loch({"job", "run", "copy"});
  ASSERT_EQ(next.exit_code, 0) << next.out << next.err;
  EXPECT_EQ(Cell("SELECT count(*) FROM curated.e"), "200000");  // append: two runs' rows
  EXPECT_TRUE(Orphans("tables/curated/e/").empty());
  Outcome runs = Loch({"job", "runs", "copy"});
  EXPECT_THAT(runs.out, HasSubstr("interrupted"));
  EXPECT_THAT(runs.out, Not(HasSubstr("RUNNING")));
}

TEST_F(JobE2eTest, ARunKilledAfterItsCommitIsNotReadAgain) {
  ASSERT_EQ(Loch({"sql", "CREATE TABLE raw.e AS SELECT i AS id FROM range(1000) r(i)"}).exit_code,
            0);
  ASSERT_EQ(Loch({"job", "create", "copy", "--sql", "SELECT id FROM raw.e", "--target", "curated.e",
                  "--incremental"})
                .exit_code,
            0);
  ASSERT_EQ(Loch({"job", "run", "copy"}).exit_code, 0);
  ASSERT_EQ(Loch({"sql", "INSERT INTO raw.e SELECT i FROM range(1000, 1100) r(i)"}).exit_code, 0);
  auto paused = StartRun("copy", "after-commit.log", {"LOCH_FAULT_PAUSE=job-after-commit"});
  ASSERT_NE(paused, nullptr);
  ASSERT_TRUE(
      paused->WaitForLog("paused at fault point job-after-commit", std::chrono::seconds(60)))
      << paused->Log();
  paused->Kill();  // published, but never recorded as finished
  EXPECT_EQ(Cell("SELECT count(*) FROM curated.e"), "1100");
  // The next run sees that the killed one published, takes its bookmark, and reads nothing again.
  Outcome next = Loch({"job", "run", "copy"});
  ASSERT_EQ(next.exit_code, 0) << next.out << next.err;
  EXPECT_THAT(next.out, HasSubstr("nothing new"));
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT id) FROM curated.e"), "1100/1100");
  EXPECT_THAT(Loch({"job", "runs", "copy"}).out, Not(HasSubstr("RUNNING")));
}

// The quarantine is committed after the target, from files the run record lists: a run killed
// between the two commits is rolled forward by the next run; one killed before the target's
// commit leaves nothing, and its rows are read (and quarantined) again. Each bad row ends up in
// the quarantine once, each good row in the target once.
TEST_F(JobE2eTest, RunsKilledAroundTheirCommitsQuarantineEachBadRowOnce) {
  ASSERT_EQ(Loch({"sql",
                  "CREATE TABLE raw.m AS SELECT CASE WHEN i % 10 = 0 THEN 'bad' || i ELSE "
                  "CAST(i AS VARCHAR) END AS v FROM range(1000) r(i)"})
                .exit_code,
            0);
  WriteFile("typed.dq", "IsComplete \"v\"  # the quarantine keeps NULLs out\n");
  Outcome created =
      Loch({"job", "create", "typed", "--sql", "SELECT v FROM raw.m", "--target", "curated.m",
            "--type", "v=BIGINT", "--required", "v", "--max-bad-fraction", "0.2", "--incremental",
            "--rules", (work_ / "typed.dq").string()});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string described = Loch({"job", "describe", "typed"}).out;
  EXPECT_THAT(described, HasSubstr("go to quarantine.curated; the run fails over 20% of them"));
  EXPECT_THAT(described, HasSubstr("rules:\n  IsComplete \"v\"\n"));
  const std::string good =
      Cell("SELECT count(*) || '/' || sum(CAST(v AS BIGINT)) FROM raw.m WHERE v NOT LIKE 'bad%'");

  // Killed before the target's commit: nothing visible, nothing left behind.
  auto before = StartRun("typed", "before.log", {"LOCH_FAULT_PAUSE=job-before-commit"});
  ASSERT_NE(before, nullptr);
  ASSERT_TRUE(
      before->WaitForLog("paused at fault point job-before-commit", std::chrono::seconds(60)))
      << before->Log();
  EXPECT_FALSE(Orphans("quarantine/curated/").empty());  // staged, listed in the run record
  before->Kill();

  // Killed between the target's commit and the quarantine's.
  auto between =
      StartRun("typed", "between.log", {"LOCH_FAULT_PAUSE=job-before-quarantine-commit"});
  ASSERT_NE(between, nullptr);
  ASSERT_TRUE(between->WaitForLog("paused at fault point job-before-quarantine-commit",
                                  std::chrono::seconds(60)))
      << between->Log();
  EXPECT_EQ(Cell("SELECT count(*) || '/' || sum(v) FROM curated.m"), good);
  EXPECT_THAT(Cell("SELECT count(*) FROM quarantine.curated"), HasSubstr("ERROR"));
  between->Kill();

  // The next run deletes what the first staged, commits what the second listed, and reads
  // nothing new (the second run's bookmark counts: its target commit happened).
  Outcome next = Loch({"job", "run", "typed"});
  ASSERT_EQ(next.exit_code, 0) << next.out << next.err;
  EXPECT_THAT(next.out, HasSubstr("nothing new"));
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT value) FROM quarantine.curated"),
            "100/100");
  EXPECT_EQ(Cell("SELECT count(*) || '/' || sum(v) FROM curated.m"), good);
  const std::string runs = Loch({"job", "runs", "typed"}).out;
  EXPECT_THAT(runs, HasSubstr("interrupted"));
  EXPECT_THAT(runs, Not(HasSubstr("RUNNING")));
  EXPECT_TRUE(Orphans("quarantine/curated/").empty());
  EXPECT_TRUE(Orphans("tables/curated/").empty());

  // New rows: their bad ones are quarantined, and reported.
  ASSERT_EQ(Loch({"sql", "INSERT INTO raw.m VALUES ('x'), ('7'), (NULL)"}).exit_code, 0);
  Outcome more = Loch({"job", "run", "typed"});
  ASSERT_EQ(more.exit_code, 1) << more.out;  // 2 of 3 bad: over 20%
  EXPECT_THAT(more.out, HasSubstr("2 of 3 rows"));
  EXPECT_EQ(Cell("SELECT count(*) FROM quarantine.curated"), "100");
}

// A run whose every row is bad publishes only its quarantine: killed after that commit, the next
// run takes it as published (its bookmark counts) and quarantines no row twice.
TEST_F(JobE2eTest, ARunOfOnlyBadRowsKilledAfterItsQuarantineIsNotReadAgain) {
  ASSERT_EQ(Loch({"sql", "CREATE TABLE raw.bad AS SELECT 'bad' || i AS v FROM range(50) r(i)"})
                .exit_code,
            0);
  ASSERT_EQ(Loch({"job", "create", "allbad", "--sql", "SELECT v FROM raw.bad", "--target",
                  "curated.bad", "--type", "v=BIGINT", "--max-bad-fraction", "1", "--incremental"})
                .exit_code,
            0);
  auto paused = StartRun("allbad", "allbad.log", {"LOCH_FAULT_PAUSE=job-after-commit"});
  ASSERT_NE(paused, nullptr);
  ASSERT_TRUE(
      paused->WaitForLog("paused at fault point job-after-commit", std::chrono::seconds(60)))
      << paused->Log();
  paused->Kill();
  EXPECT_EQ(Cell("SELECT count(*) FROM quarantine.curated"), "50");
  Outcome next = Loch({"job", "run", "allbad"});
  ASSERT_EQ(next.exit_code, 0) << next.out << next.err;
  EXPECT_THAT(next.out, HasSubstr("nothing new"));
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT value) FROM quarantine.curated"),
            "50/50");
}

TEST_F(JobE2eTest, RunsKilledAtRandomMomentsPublishAllOrNothing) {
  ASSERT_EQ(Loch({"sql",
                  "CREATE TABLE raw.big AS SELECT i AS id, i % 97 AS k, md5(i::VARCHAR) "
                  "AS v FROM range(1500000) r(i)"})
                .exit_code,
            0);
  ASSERT_EQ(Loch({"job", "create", "rebuild", "--sql", "SELECT id, k, v FROM raw.big", "--target",
                  "curated.big", "--mode", "replace-partitions", "--partition-by", "k", "--sort-by",
                  "id"})
                .exit_code,
            0);
  std::mt19937 random(20261201);
  int killed_running = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    auto run = StartRun("rebuild", fmt::format("run-{}.log", attempt));
    ASSERT_NE(run, nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + random() % 2500));
    run->Kill();
    killed_running += run->Log().find("SUCCEEDED") == std::string::npos;
    // All of a run or none: the table does not exist yet, or holds every row exactly once.
    const std::string rows = Cell("SELECT count(*) || '/' || count(DISTINCT id) FROM curated.big");
    EXPECT_TRUE(rows.find("unknown") != std::string::npos || rows == "1500000/1500000") << rows;
  }
  EXPECT_GT(killed_running, 0) << "no kill landed during a run: the job is too fast";
  Outcome last = Loch({"job", "run", "rebuild"});
  ASSERT_EQ(last.exit_code, 0) << last.out << last.err;
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT id) || '/' || sum(k) FROM curated.big"),
            Cell("SELECT count(*) || '/' || count(DISTINCT id) || '/' || sum(k) FROM raw.big"));
  const std::vector<std::string> orphans = Orphans("tables/curated/big/");
  EXPECT_TRUE(orphans.empty()) << orphans.size() << " orphans, e.g. " << orphans.front();
}

// A compaction killed before its commit changes nothing; run again it rewrites the raw files into
// one file per partition, keeps the originals under archive/, and an incremental job reading the
// table reads each row once across it. Crawls and vacuum leave the compacted table as it is.
TEST_F(JobE2eTest, ACompactionKilledBeforeItsCommitChangesNothingAndJobsReadEachRowOnce) {
  auto deliver = [&](int day, int file) {
    const fs::path folder = fs::path(Lake()) / fmt::format("raw/clicks/day=2024-01-0{}", day);
    fs::create_directories(folder);
    std::ofstream out(folder / fmt::format("{}.json", file));
    for (int i = 0; i < 50; ++i) {
      out << fmt::format("{{\"id\": {}, \"v\": {}, \"ts\": \"2024-01-0{} 10:{:02}:00\"}}\n",
                         (day * 100 + file) * 100 + i, i % 7, day, i);
    }
  };
  for (int day = 1; day <= 3; ++day) {
    for (int file = 0; file < 4; ++file) deliver(day, file);
  }
  auto crawl = [&] {
    Outcome crawled = Loch({"crawl", "raw/", "--database", "raw"});
    EXPECT_EQ(crawled.exit_code, 0) << crawled.err;
    return crawled.out + crawled.err;
  };
  crawl();
  ASSERT_EQ(Loch({"job", "create", "copy", "--sql", "SELECT id, v, ts FROM raw.clicks", "--target",
                  "curated.clicks", "--incremental"})
                .exit_code,
            0);
  ASSERT_EQ(Loch({"job", "run", "copy"}).exit_code, 0);
  deliver(3, 4);
  crawl();
  const std::string answer = "SELECT count(*) || '/' || sum(v) || '/' || max(ts) FROM raw.clicks";
  const std::string before = Cell(answer);
  EXPECT_EQ(before, "650/1911/2024-01-03 10:49:00");

  auto paused = ChildProcess::Start(LOCH_BINARY, {"compact", "raw.clicks", "--lake", Lake()},
                                    (work_ / "compact.log").string(),
                                    {"LOCH_FAULT_PAUSE=compact-before-commit"});
  ASSERT_NE(paused, nullptr);
  ASSERT_TRUE(
      paused->WaitForLog("paused at fault point compact-before-commit", std::chrono::seconds(60)))
      << paused->Log();
  EXPECT_FALSE(Orphans("tables/raw/clicks/").empty());  // staged, not committed
  paused->Kill();
  EXPECT_EQ(Cell(answer), before);
  crawl();
  EXPECT_EQ(Cell(answer), before);

  Outcome compacted = Loch({"compact", "raw.clicks", "--sort-by", "ts"});
  ASSERT_EQ(compacted.exit_code, 0) << compacted.err;
  EXPECT_THAT(compacted.out, HasSubstr("Compacted raw.clicks: 13 file(s)"));
  EXPECT_THAT(compacted.out, HasSubstr("-> 3 file(s)"));
  EXPECT_THAT(compacted.out, HasSubstr("13 raw object(s) archived"));
  EXPECT_EQ(Cell(answer), before);
  EXPECT_TRUE(Orphans("archive/").empty());  // the killed run's copies were written again, named
  EXPECT_TRUE(fs::exists(fs::path(Lake()) / "archive/raw/clicks/day=2024-01-03/4.json"));
  EXPECT_THAT(crawl(), HasSubstr("wait for deletion"));
  EXPECT_EQ(Cell(answer), before);

  deliver(3, 5);
  crawl();
  Outcome run = Loch({"job", "run", "copy"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Cell("SELECT count(*) || '/' || count(DISTINCT id) FROM curated.clicks"), "700/700");
  EXPECT_EQ(Cell(answer), "700/2058/2024-01-03 10:49:00");
  // Vacuum keeps the archive, and the originals for an hour (queries may still read them).
  ASSERT_EQ(Loch({"vacuum", "--retain", "0s", "--force"}).exit_code, 0);
  EXPECT_EQ(Cell(answer), "700/2058/2024-01-03 10:49:00");
  EXPECT_TRUE(fs::exists(fs::path(Lake()) / "raw/clicks/day=2024-01-03/4.json"));
  EXPECT_TRUE(fs::exists(fs::path(Lake()) / "archive/raw/clicks/day=2024-01-03/4.json"));
}

}  // namespace
}  // namespace loch
