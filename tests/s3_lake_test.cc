// A lake on S3, driven through the `loch` binary: init, load, and queries that fetch only the files
// they need. The S3 server is s3rver behind the verifying proxy, which counts every request.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "common/ids.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "storage/s3_store.h"
#include "tests/support/loch_server.h"
#include "tests/support/run_command.h"
#include "tests/support/s3_test_server.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing_support::CommandOutcome;
using testing_support::S3TestServer;
using testing_support::ShellQuote;

class S3LakeTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = S3TestServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    ASSERT_TRUE(server_->CreateBucket("lake-e2e").ok());
  }
  static void TearDownTestSuite() { delete server_; }

  void SetUp() override {
    prefix_ = "lakes/" + NewRandomId().substr(0, 8);
  }

  std::string Env() const {
    return fmt::format(
        "AWS_ENDPOINT_URL={} AWS_REGION={} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} "
        "LOCH_STATE={}",
        ShellQuote(server_->endpoint()), S3TestServer::kRegion, S3TestServer::kAccessKey,
        S3TestServer::kSecretKey, ShellQuote(State()));
  }
  std::string State() const { return (work_ / "state").string(); }
  std::string Url() const { return "s3://lake-e2e/" + prefix_; }

  CommandOutcome Loch(const std::vector<std::string>& args) const {
    return testing_support::RunCommand(LOCH_BINARY, args, Env());
  }

  // events/part=NNN/e.json with `rows` rows each; v = part * 1000 + row.
  std::string WritePartitions(int partitions, int rows) const {
    const fs::path root = work_ / "events";
    for (int p = 0; p < partitions; ++p) {
      const fs::path dir = root / fmt::format("part={}", p);
      fs::create_directories(dir);
      std::ofstream out(dir / "e.json");
      for (int r = 0; r < rows; ++r)
        out << fmt::format("{{\"v\": {}, \"name\": \"row-{}\"}}\n", p * 1000 + r, r);
    }
    return root.string();
  }

  int DataGets() const {
    auto stats = server_->Stats();
    int gets = 0;
    for (const auto& [key, count] : (*stats)["gets_by_key"].items()) {
      if (key.find("/raw/") != std::string::npos) gets += count.get<int>();
    }
    return gets;
  }

  // Starts `loch serve` on the lake, puts `records` into the stream "clicks" (creating it first if
  // `create`), flushes it and stops the server.
  void ServeAndPut(const std::vector<std::string>& records, bool create) {
    std::string error;
    auto serve = testing_support::LochServer::Start(
        LOCH_BINARY, Url(), {}, &error,
        {fmt::format("AWS_ENDPOINT_URL={}", server_->endpoint()),
         fmt::format("AWS_REGION={}", S3TestServer::kRegion),
         fmt::format("AWS_ACCESS_KEY_ID={}", S3TestServer::kAccessKey),
         fmt::format("AWS_SECRET_ACCESS_KEY={}", S3TestServer::kSecretKey),
         "LOCH_STATE=" + State()});
    ASSERT_NE(serve, nullptr) << error;
    const nlohmann::json keys =
        nlohmann::json::parse(std::ifstream(State() + "/admin-credentials.json"));
    httplib::Client client("127.0.0.1", serve->port());
    client.set_default_headers({{"Authorization", "Bearer " + keys["token"].get<std::string>()}});
    if (create) {
      auto created = client.Post("/api/v1/streams", R"({"name": "clicks", "buffer_seconds": 900})",
                                 "application/json");
      ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
    }
    std::string body;
    for (const std::string& record : records) body += record + "\n";
    auto put = client.Post("/api/v1/streams/clicks/records", body, "text/plain");
    ASSERT_TRUE(put && put->status == 200) << (put ? put->body : "no answer");
    auto flushed = client.Post("/api/v1/streams/clicks/flush", "", "text/plain");
    ASSERT_TRUE(flushed && flushed->status == 200) << (flushed ? flushed->body : "no answer");
    EXPECT_EQ(serve->Stop(), 0);
  }

  static inline S3TestServer* server_ = nullptr;
  TestDir scratch_{"loch-s3-lake"};
  fs::path work_ = scratch_.path();
  std::string prefix_;
};

TEST_F(S3LakeTest, QueriesFetchOnlyThePartitionsTheyNeedAndOnlyOnce) {
  CommandOutcome init = Loch({"init", "--lake", Url()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_THAT(init.out, HasSubstr("--state"));

  const std::string events = WritePartitions(100, 20);
  CommandOutcome load =
      Loch({"load", events, "--table", "t.events"});  // lake and state from LOCH_STATE
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_THAT(load.out, HasSubstr("Loaded 100 files (2,000 rows"));

  fs::remove_all(fs::path(State()) / "cache");  // a cold cache: every file must come from S3
  ASSERT_TRUE(server_->ResetStats().ok());
  CommandOutcome one =
      Loch({"sql", "SELECT count(*) AS n, sum(v) AS s FROM t.events WHERE part = 42", "--format",
            "csv"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, fmt::format("n,s\n20,{}\n", 20 * 42000 + 190));
  EXPECT_EQ(DataGets(), 1) << server_->Stats()->dump();
  EXPECT_EQ((*server_->Stats())["by_method"].value("GET", 0),
            1);  // no listing either: the catalog knows

  ASSERT_TRUE(server_->ResetStats().ok());
  CommandOutcome again =
      Loch({"sql", "SELECT count(*) FROM t.events WHERE part IN (42)", "--format", "csv"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(DataGets(), 0);  // the cache survives between processes

  ASSERT_TRUE(server_->ResetStats().ok());
  CommandOutcome range =
      Loch({"sql", "SELECT count(*) FROM t.events WHERE part BETWEEN 10 AND 14 AND v >= 12000",
            "--format", "csv"});
  ASSERT_EQ(range.exit_code, 0) << range.err;
  EXPECT_EQ(range.out, "count_star()\n60\n");
  EXPECT_EQ(DataGets(),
            3);  // parts 10 and 11 are pruned by v's statistics: only 12, 13, 14 are fetched

  ASSERT_TRUE(server_->ResetStats().ok());
  CommandOutcome all = Loch({"sql", "SELECT count(*), max(v) FROM t.events", "--format", "csv"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out, "count_star(),max(v)\n2000,99019\n");
  EXPECT_EQ(DataGets(), 100 - 4);  // everything but the four partitions already cached
  EXPECT_EQ((*server_->Stats())["rejected"], 0);

  // CREATE TABLE AS writes Parquet into the bucket's tables/ zone.
  CommandOutcome ctas = Loch(
      {"sql", "CREATE TABLE t.summary AS SELECT part, count(*) AS n FROM t.events GROUP BY part",
       "--format", "csv"});
  ASSERT_EQ(ctas.exit_code, 0) << ctas.err;
  EXPECT_THAT(ctas.out, HasSubstr("CREATE TABLE,t.summary,100,1,"));
  CommandOutcome summary =
      Loch({"sql", "SELECT count(*), sum(n) FROM t.summary", "--format", "csv"});
  EXPECT_EQ(summary.out, "count_star(),sum(n)\n100,2000\n");
  CommandOutcome files = Loch({"describe", "t.summary", "--files"});
  EXPECT_THAT(files.out, HasSubstr("tables/t/summary/"));

  // Views read through the per-query catalog of a remote lake, nested too.
  ASSERT_EQ(
      Loch({"sql", "CREATE VIEW t.busy AS SELECT part FROM t.summary WHERE n >= 20"}).exit_code, 0);
  ASSERT_EQ(Loch({"sql", "CREATE VIEW t.busy_count AS SELECT count(*) AS c FROM t.busy"}).exit_code,
            0);
  EXPECT_EQ(Loch({"sql", "SELECT c FROM t.busy_count", "--format", "csv"}).out, "c\n100\n");
}

// The same raw objects, ETL job (a typed column with a quarantine, a rule) and compaction on a
// local lake and on an S3 lake answer alike: only the store differs.
TEST_F(S3LakeTest, JobsQuarantinesAndCompactionsAnswerAsOnALocalLake) {
  const fs::path local = work_ / "local";
  auto s3 = S3ObjectStore::Open(server_->ConfigFor("lake-e2e", prefix_));
  ASSERT_TRUE(s3.ok()) << s3.status();
  for (int day = 1; day <= 2; ++day) {
    for (int file = 0; file < 3; ++file) {
      std::string lines;
      for (int i = 0; i < 20; ++i) {
        const int id = (day * 10 + file) * 100 + i;
        lines += i % 9 == 4 ? fmt::format("{{\"id\": {}, \"v\": \"n/a-{}\"}}\n", id, i)
                            : fmt::format("{{\"id\": {}, \"v\": \"{}\"}}\n", id, id % 13);
      }
      const std::string key = fmt::format("raw/m/day=2024-01-0{}/{}.json", day, file);
      ASSERT_TRUE((*s3)->Put(key, lines).ok());
      fs::create_directories((local / key).parent_path());
      std::ofstream(local / key) << lines;
    }
  }
  const fs::path rules = work_ / "m.dq";
  std::ofstream(rules) << "IsComplete \"id\"\nRowCount between 1 and 1000\n";
  // Runs `args` on both lakes; their outputs must agree (when `same_output`) and succeed.
  auto both = [&](std::vector<std::string> args) {
    CommandOutcome on_s3 = Loch(args);
    args.insert(args.end(), {"--lake", local.string(), "--state", (local / ".loch").string()});
    CommandOutcome on_disk = testing_support::RunCommand(LOCH_BINARY, args, "");
    EXPECT_EQ(on_s3.exit_code, 0) << on_s3.err;
    EXPECT_EQ(on_disk.exit_code, 0) << on_disk.err;
    return std::make_pair(on_s3.out, on_disk.out);
  };
  auto answers_alike = [&](const std::string& sql) {
    auto [on_s3, on_disk] = both({"sql", sql, "--format", "csv"});
    EXPECT_EQ(on_s3, on_disk) << sql;
    EXPECT_THAT(on_s3, testing::Not(testing::IsEmpty())) << sql;
  };
  ASSERT_EQ(Loch({"init", "--lake", Url()}).exit_code, 0);
  ASSERT_EQ(testing_support::RunCommand(LOCH_BINARY, {"init", "--lake", local.string()}, "")
                .exit_code,
            0);
  both({"crawl", "raw/", "--database", "raw"});
  both({"job", "create", "typed", "--sql", "SELECT id, v FROM raw.m", "--target", "curated.m",
        "--type", "v=BIGINT", "--max-bad-fraction", "0.2", "--rules", rules.string(),
        "--incremental"});
  both({"job", "run", "typed"});
  const std::string target = "SELECT count(*), sum(v), count(DISTINCT id) FROM curated.m";
  const std::string quarantined =
      "SELECT count(*), string_agg(DISTINCT reason, '; '), min(value), max(value) FROM "
      "quarantine.curated";
  answers_alike(target);
  answers_alike(quarantined);
  EXPECT_THAT(Loch({"sql", quarantined, "--format", "csv"}).out, HasSubstr("\n12,"));
  answers_alike("SELECT line, rule, outcome, observed FROM loch.dq_results ORDER BY line");

  // Compaction: the raw objects are archived in both stores, the answers stay.
  const std::string raw = "SELECT count(*), count(v), min(id), max(id), count(DISTINCT day) FROM raw.m";
  auto [compacted_s3, compacted_disk] = both({"compact", "raw.m", "--json"});
  EXPECT_EQ(nlohmann::json::parse(compacted_s3)["archived"], 6);
  EXPECT_EQ(nlohmann::json::parse(compacted_disk)["files_after"],
            nlohmann::json::parse(compacted_s3)["files_after"]);
  EXPECT_TRUE((*s3)->Head("archive/raw/m/day=2024-01-02/2.json").ok());
  answers_alike(raw);
  both({"crawl", "raw/", "--database", "raw"});
  answers_alike(raw);
  EXPECT_THAT(Loch({"sql", raw, "--format", "csv"}).out, HasSubstr("\n120,120,1000,2219,2\n"));
  both({"job", "run", "typed"});  // nothing new: a compaction changes no rows
  answers_alike(target);
}

// Vacuum on S3: the objects of a dropped table leave the bucket; loaded ones stay and answer.
TEST_F(S3LakeTest, ACatalogBackedUpToTheBucketBringsTheLakeBackAfterItsStateFolderIsLost) {
  ASSERT_EQ(Loch({"init", "--lake", Url()}).exit_code, 0);
  ASSERT_EQ(Loch({"load", WritePartitions(4, 5), "--table", "t.events"}).exit_code, 0);
  ASSERT_EQ(Loch({"sql", "CREATE TABLE t.parts AS SELECT part, count(*) AS n FROM t.events GROUP BY "
                         "part"}).exit_code,
            0);
  const std::string query = "SELECT (SELECT sum(v) FROM t.events), (SELECT sum(n) FROM t.parts)";
  const std::string before = Loch({"sql", query, "--format", "csv"}).out;
  const std::string backup = "s3://lake-e2e/" + prefix_ + "-backups/catalog-1.lochbak";
  CommandOutcome taken = Loch({"catalog", "backup", "--to", backup});
  ASSERT_EQ(taken.exit_code, 0) << taken.err;
  EXPECT_NE(Loch({"catalog", "backup", "--to", backup}).exit_code, 0);  // never replaced

  fs::remove_all(State());  // the machine is lost; the bucket is not
  CommandOutcome refused = Loch({"init", "--lake", Url()});  // an empty catalog would replace it
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("loch init --recover"));
  ASSERT_EQ(Loch({"init", "--lake", Url(), "--new-catalog"}).exit_code, 0);
  EXPECT_THAT(Loch({"sql", "SELECT count(*) FROM t.events"}).err, HasSubstr("no databases yet"));
  CommandOutcome restored = Loch({"catalog", "restore", "--from", backup});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(Loch({"sql", query, "--format", "csv"}).out, before);
}

// The catalog journal: a lake whose state folder is lost is rebuilt from the bucket alone, after
// loads, a schema change, CTAS, INSERT, views, crawls, jobs and workgroups, and answers every
// question exactly as before; it goes on taking writes, and recovers again.
TEST_F(S3LakeTest, ALakeWhoseStateFolderIsLostIsRecoveredFromTheBucketAlone) {
  ASSERT_EQ(Loch({"init", "--lake", Url()}).exit_code, 0);
  auto run = [&](const std::vector<std::string>& args) {
    CommandOutcome outcome = Loch(args);
    EXPECT_EQ(outcome.exit_code, 0) << fmt::format("{}", fmt::join(args, " ")) << "\n" << outcome.err;
    return outcome.out;
  };
  run({"load", WritePartitions(6, 10), "--table", "t.events"});
  const fs::path wider = work_ / "wider";
  fs::create_directories(wider / "part=9");
  std::ofstream(wider / "part=9" / "e.json")
      << "{\"v\": 9000, \"name\": \"w\", \"country\": \"NZ\"}\n"
      << "{\"v\": 9001, \"name\": \"x\", \"country\": \"FR\"}\n";
  run({"load", wider.string(), "--table", "t.events"});  // a new column: a schema version
  run({"sql", "CREATE TABLE t.parts AS SELECT part, count(*) AS n, sum(v) AS s FROM t.events "
              "GROUP BY part"});
  run({"sql", "INSERT INTO t.parts SELECT 100, 1, 1"});
  run({"sql", "CREATE VIEW t.big AS SELECT * FROM t.events WHERE v > 3000"});
  auto s3 = S3ObjectStore::Open(server_->ConfigFor("lake-e2e", prefix_));
  ASSERT_TRUE(s3.ok());
  ASSERT_TRUE((*s3)->Put("raw/m/day=2024-01-01/0.json", "{\"id\": 1, \"v\": \"7\"}\n").ok());
  run({"crawl", "raw/", "--database", "raw"});
  run({"job", "create", "typed", "--sql", "SELECT id, v FROM raw.m", "--target", "curated.m",
       "--type", "v=BIGINT"});
  run({"job", "run", "typed"});
  run({"workgroup", "set", "analysts", "--max-concurrent", "3"});
  // Puts: a stream delivering into the bucket through a server.
  ServeAndPut({R"({"a": 1})", R"({"a": 2})"}, /*create=*/true);

  const std::vector<std::vector<std::string>> questions = {
      {"sql", "SELECT part, count(*), sum(v), count(country) FROM t.events GROUP BY part ORDER BY "
              "part", "--format", "csv"},
      {"sql", "SELECT * FROM t.parts ORDER BY part", "--format", "csv"},
      {"sql", "SELECT count(*), min(v) FROM t.big", "--format", "csv"},
      {"sql", "SELECT * FROM curated.m", "--format", "csv"},
      {"sql", "SELECT * FROM loch.job_runs ORDER BY ALL", "--format", "csv"},
      {"describe", "t.events", "--files"},
      {"tables"},
      {"job", "list"},
      {"workgroup", "list"},
      {"crawler", "list"},
      {"sql", "SELECT count(*), sum(a) FROM raw.clicks", "--format", "csv"},
  };
  std::vector<std::string> before;
  for (const auto& question : questions) before.push_back(run(question));
  ASSERT_FALSE(HasFailure());
  EXPECT_THAT(before[0], HasSubstr("9,2,18001,2"));

  fs::remove_all(State());  // the machine is lost; the bucket is not
  CommandOutcome recovered = Loch({"init", "--recover", "--lake", Url()});
  ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_THAT(recovered.out, HasSubstr("Recovered the catalog"));
  EXPECT_THAT(Loch({"init", "--recover", "--lake", Url()}).err, HasSubstr("already holds a catalog"));
  for (size_t i = 0; i < questions.size(); ++i)
    EXPECT_EQ(run(questions[i]), before[i]) << fmt::format("{}", fmt::join(questions[i], " "));

  // The recovered lake takes writes, journaled in a timeline of its own; and recovers again.
  run({"sql", "INSERT INTO t.parts SELECT 101, 2, 2"});
  const std::string after_insert = run(questions[1]);
  EXPECT_THAT(after_insert, HasSubstr("101,2,2"));
  ServeAndPut({R"({"a": 3})"}, /*create=*/false);
  EXPECT_EQ(run(questions.back()), "count_star(),sum(a)\n3,6\n");
  fs::remove_all(State());
  ASSERT_EQ(Loch({"init", "--recover", "--lake", Url()}).exit_code, 0);
  EXPECT_EQ(run(questions[1]), after_insert);
  EXPECT_EQ(run(questions[0]), before[0]);
  EXPECT_EQ(run(questions.back()), "count_star(),sum(a)\n3,6\n");
}

TEST_F(S3LakeTest, EveryObjectWrittenAsksForTheServerSideEncryptionChosenAtInit) {
  CommandOutcome bad = Loch({"init", "--lake", Url(), "--sse", "rot13"});
  EXPECT_NE(bad.exit_code, 0);
  CommandOutcome key_id =
      Loch({"init", "--lake", Url(), "--sse", "aws:kms", "--sse-kms-key-id", "alias/loch-test"});
  EXPECT_NE(key_id.exit_code, 0);
  EXPECT_THAT(key_id.err, HasSubstr("not supported yet"));
  CommandOutcome init =
      Loch({"init", "--lake", Url(), "--sse", "aws:kms"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ASSERT_TRUE(server_->ResetStats().ok());
  CommandOutcome load = Loch({"load", WritePartitions(3, 400), "--table", "t.events"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  ASSERT_EQ(Loch({"sql", "CREATE TABLE t.copy AS SELECT * FROM t.events"}).exit_code, 0);
  auto stats = server_->Stats();
  ASSERT_TRUE(stats.ok());
  int written = 0;
  for (const auto& [key, sse] : (*stats)["sse_by_key"].items()) {
    if (key.find(prefix_) == std::string::npos) continue;
    ++written;
    EXPECT_EQ(sse, "aws:kms") << key;
  }
  EXPECT_GE(written, 4);  // the raw files and the table's Parquet
  // Changed later: objects written from then on ask for the new one (signed, as S3 requires).
  ASSERT_EQ(Loch({"init", "--lake", Url(), "--sse", "AES256"}).exit_code, 0);
  ASSERT_TRUE(server_->ResetStats().ok());
  ASSERT_EQ(Loch({"sql", "CREATE TABLE t.copy2 AS SELECT * FROM t.events"}).exit_code, 0);
  stats = server_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["rejected"], 0);
  written = 0;
  for (const auto& [key, sse] : (*stats)["sse_by_key"].items()) {
    if (key.find(prefix_) == std::string::npos) continue;
    ++written;
    EXPECT_EQ(sse, "AES256") << key;
  }
  EXPECT_GE(written, 1);
}

TEST_F(S3LakeTest, VacuumDeletesWhatNoSnapshotNeeds) {
  ASSERT_EQ(Loch({"init", "--lake", Url()}).exit_code, 0);
  ASSERT_EQ(Loch({"load", WritePartitions(3, 5), "--table", "t.events"}).exit_code, 0);
  ASSERT_EQ(Loch({"sql", "CREATE TABLE t.copy AS SELECT * FROM t.events"}).exit_code, 0);
  ASSERT_EQ(Loch({"sql", "DROP TABLE t.copy"}).exit_code, 0);
  auto store = S3ObjectStore::Open(server_->ConfigFor("lake-e2e", prefix_));
  ASSERT_TRUE(store.ok()) << store.status();
  auto objects = [&](const std::string& prefix) {
    auto listed = ListAll(**store, prefix);
    EXPECT_TRUE(listed.ok()) << listed.status();
    return listed.ok() ? listed->size() : 0;
  };
  ASSERT_GT(objects("tables/t/copy/"), 0u);
  const size_t loaded = objects("raw/t/events/");
  ASSERT_GT(loaded, 0u);

  CommandOutcome vacuum = Loch({"vacuum", "--retain", "0s", "--force"});
  ASSERT_EQ(vacuum.exit_code, 0) << vacuum.err;
  EXPECT_THAT(vacuum.out, HasSubstr("object(s) deleted"));
  EXPECT_EQ(objects("tables/t/copy/"), 0u);
  EXPECT_EQ(objects("raw/t/events/"), loaded);
  EXPECT_EQ(Loch({"sql", "SELECT count(*) FROM t.events", "--format", "csv"}).out,
            "count_star()\n15\n");
}

TEST_F(S3LakeTest, LoadsSurviveFaultsOrFailCleanly) {
  ASSERT_EQ(Loch({"init", "--lake", Url()}).exit_code, 0);
  const std::string events = WritePartitions(10, 50);

  // Throttling and dropped connections (some after the server did the work): retries carry the
  // load.
  ASSERT_TRUE(server_
                  ->SetFaults({{"fail_rate", 0.2},
                               {"drop_before_rate", 0.1},
                               {"drop_after_rate", 0.1},
                               {"seed", 5},
                               {"match", ""}})
                  .ok());
  CommandOutcome flaky = Loch({"load", events, "--table", "t.flaky"});
  ASSERT_TRUE(
      server_->SetFaults({{"fail_rate", 0}, {"drop_before_rate", 0}, {"drop_after_rate", 0}}).ok());
  ASSERT_EQ(flaky.exit_code, 0) << flaky.err;
  EXPECT_GT((*server_->Stats())["failed"].get<int>() + (*server_->Stats())["dropped"].get<int>(),
            0);
  CommandOutcome counted = Loch({"sql", "SELECT count(*) FROM t.flaky", "--format", "csv"});
  EXPECT_EQ(counted.out, "count_star()\n500\n");

  // The store refuses every write: the load fails with the S3 error and the catalog is unchanged.
  ASSERT_TRUE(server_->SetFaults({{"fail_rate", 1.0}, {"match", "^PUT "}}).ok());
  // (The same files again: only --allow-duplicates writes them; without it they are skipped.)
  CommandOutcome skipped = Loch({"load", events, "--table", "t.flaky"});
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_THAT(skipped.out, HasSubstr("Nothing new to load into t.flaky: 10 files already loaded"));
  CommandOutcome refused = Loch({"load", events, "--table", "t.flaky", "--allow-duplicates"});
  CommandOutcome refused_new = Loch({"load", events, "--table", "t.never"});
  ASSERT_TRUE(server_->SetFaults({{"fail_rate", 0}, {"match", ""}}).ok());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("SlowDown"));
  EXPECT_THAT(refused.err, HasSubstr("s3://lake-e2e/" + prefix_ + "/raw/t/flaky/"));
  EXPECT_EQ(refused_new.exit_code, 1);
  CommandOutcome tables = Loch({"tables"});
  EXPECT_THAT(tables.out, HasSubstr("t.flaky"));
  EXPECT_THAT(tables.out, ::testing::Not(HasSubstr("t.never")));
  CommandOutcome history = Loch({"describe", "t.flaky", "--versions"});
  EXPECT_THAT(history.out, HasSubstr("data:           500 rows in 10 files"));
  EXPECT_EQ(Loch({"sql", "SELECT count(*) FROM t.flaky", "--format", "csv"}).out,
            "count_star()\n500\n");
}

TEST_F(S3LakeTest, MissingStateOrCredentialsAreExplained) {
  CommandOutcome no_state =
      testing_support::RunCommand(LOCH_BINARY, {"init", "--lake", Url()},
                                  "LOCH_STATE= AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y");
  EXPECT_EQ(no_state.exit_code, 1);
  EXPECT_THAT(no_state.err, HasSubstr("--state"));
  CommandOutcome no_credentials =
      testing_support::RunCommand(LOCH_BINARY, {"init", "--lake", Url(), "--state", State()},
                                  "AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY=");
  EXPECT_EQ(no_credentials.exit_code, 1);
  EXPECT_THAT(no_credentials.err, HasSubstr("AWS_ACCESS_KEY_ID"));
  CommandOutcome no_bucket = Loch({"init", "--lake", "s3://no-such-bucket-here/x"});
  EXPECT_EQ(no_bucket.exit_code, 1);
  EXPECT_THAT(no_bucket.err, HasSubstr("NoSuchBucket"));
}

}  // namespace
}  // namespace loch
