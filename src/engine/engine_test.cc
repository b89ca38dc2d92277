#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "common/test_dir.h"
#include "common/strings.h"
#include "engine/duck.h"
#include "engine/lake_engine.h"
#include "engine/query_test_support.h"
#include "engine/sandbox.h"
#include "engine/sql_guard.h"
#include "engine/value_decoder.h"
#include "fmt/format.h"
#include "storage/local_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(ToStd(status.message())); }

absl::StatusOr<std::vector<std::vector<std::string>>> Rows(QueryCursor& cursor) {
  return AllRows(cursor);
}

class EngineTest : public testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(root_ + "/.loch");
    store_ = std::move(LocalObjectStore::Open(root_)).value();
    catalog_ = std::move(OpenSqliteCatalog(root_ + "/.loch/catalog.sqlite")).value();
    ASSERT_TRUE(catalog_->CreateDatabase(admin_, "shop", true).ok());
    EngineOptions options;
    options.readable_root = root_;
    options.threads = 2;
    engine_ = std::move(LakeEngine::Open(options, catalog_.get(), store_.get())).value();
  }

  // A DuckDB database locked down as the engine's is (sandbox.h), for tests that bypass the guard.
  duck::Database& SandboxedDatabase() {
    if (!sandboxed_) {
      sandboxed_ = std::make_unique<duck::Database>(
          std::move(duck::Database::OpenInMemory({{"autoinstall_known_extensions", "false"},
                                                  {"autoload_known_extensions", "false"}}))
              .value());
      auto admin = std::move(duck::Connection::Open(*sandboxed_)).value();
      EXPECT_TRUE(LockDownDatabase(admin, root_).ok());
    }
    return *sandboxed_;
  }

  // Writes a file into the lake with an unsandboxed DuckDB: `COPY (select) TO path`.
  void WriteWithDuckDb(const std::string& key, const std::string& select,
                       const std::string& format) {
    fs::create_directories(fs::path(root_ + "/" + key).parent_path());
    auto db = std::move(duck::Database::OpenInMemory({})).value();
    auto conn = std::move(duck::Connection::Open(db)).value();
    absl::Status written = conn.Execute(fmt::format("COPY ({}) TO {} (FORMAT {})", select,
                                                    QuoteLiteral(root_ + "/" + key), format));
    ASSERT_TRUE(written.ok()) << written;
  }

  void WriteText(const std::string& key, const std::string& text) {
    ASSERT_TRUE(store_->Put(key, text).ok());
  }

  // Profiles each key and registers the files as one new table (or an append to it).
  void Register(const TableName& name, const std::vector<std::string>& keys,
                const std::string& format, std::vector<Column> partition_columns = {},
                std::vector<std::map<std::string, std::string>> partitions = {}) {
    TableCommit commit;
    commit.table = name;
    auto existing = catalog_->ReadTable(admin_, name, std::nullopt);
    Schema schema;
    if (existing.ok()) {
      commit.base_snapshot = existing->table.current_snapshot;
      schema = existing->table.schema;
    }
    schema.partition_columns = partition_columns;
    for (size_t i = 0; i < keys.size(); ++i) {
      auto profile = engine_->ProfileFile(keys[i], format);
      ASSERT_TRUE(profile.ok()) << profile.status();
      for (const Column& column : profile->columns) {
        if (schema.Find(column.name) == nullptr) schema.columns.push_back(column);
      }
      DataFile file;
      file.key = keys[i];
      file.format = format;
      file.row_count = profile->row_count;
      file.size_bytes = static_cast<int64_t>(fs::file_size(fs::path(root_) / keys[i]));
      file.stats = profile->stats;
      if (i < partitions.size()) file.partition_values = partitions[i];
      commit.add_files.push_back(file);
    }
    commit.new_schema = schema;
    commit.location = "raw/" + name.database + "/" + name.table + "/";
    commit.operation = existing.ok() ? "append" : "create";
    auto committed = catalog_->Commit(admin_, commit);
    ASSERT_TRUE(committed.ok()) << committed.status();
  }

  absl::StatusOr<std::vector<std::vector<std::string>>> Run(const std::string& sql,
                                                            QueryOptions options = {}) {
    ASSIGN_OR_RETURN(auto cursor, engine_->Query(admin_, sql, options));
    return Rows(*cursor);
  }

  TestDir scratch_{"loch-engine"};
  std::string root_ = scratch_ / "lake";
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LakeEngine> engine_;
  std::unique_ptr<duck::Database> sandboxed_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST(DuckWrapper, ErrorsBecomeStatusesWithPosition) {
  auto db = std::move(duck::Database::OpenInMemory({})).value();
  auto conn = std::move(duck::Connection::Open(db)).value();
  absl::Status parse = conn.Execute("SELECT 1 +\n  FROM");
  EXPECT_TRUE(absl::IsInvalidArgument(parse)) << parse;
  absl::Status bind = conn.Execute("SELECT 1,\n  nosuchcolumn");
  EXPECT_TRUE(absl::IsInvalidArgument(bind));
  EXPECT_THAT(Message(bind), HasSubstr("(line 2, column 3)"));
  EXPECT_THAT(Message(bind), HasSubstr("nosuchcolumn"));
  absl::Status conversion = conn.Execute("SELECT 'x'::INTEGER");
  EXPECT_TRUE(absl::IsInvalidArgument(conversion));
}

TEST(DuckWrapper, AppenderAndPreparedStatements) {
  auto db = std::move(duck::Database::OpenInMemory({})).value();
  auto conn = std::move(duck::Connection::Open(db)).value();
  ASSERT_TRUE(conn.Execute("CREATE TABLE t(id BIGINT, score DOUBLE, name VARCHAR)").ok());
  {
    auto appender = std::move(duck::Appender::Create(conn, "main", "t")).value();
    for (int64_t i = 0; i < 1000; ++i) {
      ASSERT_TRUE(appender.Append(i).ok());
      ASSERT_TRUE(appender.Append(i * 0.5).ok());
      ASSERT_TRUE(i % 10 == 0 ? appender.AppendNull().ok()
                              : appender.Append(std::string_view("n")).ok());
      ASSERT_TRUE(appender.EndRow().ok());
    }
    ASSERT_TRUE(appender.Close().ok());
  }
  auto prepared =
      std::move(conn.Prepare("SELECT count(*), count(name) FROM t WHERE id >= ?")).value();
  EXPECT_EQ(prepared.parameter_count(), 1u);
  ASSERT_TRUE(prepared.Bind(1, int64_t{500}).ok());
  auto result = std::move(prepared.Execute()).value();
  auto rows = std::move(result.FetchAllAsText()).value();
  EXPECT_EQ(rows[0][0], "500");
  EXPECT_EQ(rows[0][1], "450");
  EXPECT_FALSE(duck::Appender::Create(conn, "main", "missing").ok());
}

TEST(ValueDecoder, CalendarFormatting) {
  EXPECT_EQ(FormatDate(0), "1970-01-01");
  EXPECT_EQ(FormatDate(-1), "1969-12-31");
  EXPECT_EQ(FormatDate(19723), "2024-01-01");
  EXPECT_EQ(FormatTimestampMicros(1'700'000'000'250'000), "2023-11-14 22:13:20.25");
  EXPECT_EQ(FormatTimestampMicros(-1), "1969-12-31 23:59:59.999999");
}

TEST_F(EngineTest, QueriesTablesOfEveryFormatWithTypesAndNulls) {
  WriteText("raw/shop/events/a.json",
            "{\"id\": 1, \"kind\": \"view\", \"ts\": \"2026-11-01 10:00:00\", \"tags\": [\"x\"]}\n"
            "{\"id\": 2, \"kind\": \"click\", \"ts\": \"2026-11-01 10:00:05\", \"tags\": []}\n");
  Register({"shop", "events"}, {"raw/shop/events/a.json"}, "json");
  auto rows = Run("SELECT id, kind, ts, tags, id * 1.5 AS d FROM shop.events ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0],
            (std::vector<std::string>{"1", "view", "2026-11-01 10:00:00", "[\"x\"]", "1.5"}));

  WriteWithDuckDb("raw/shop/deals/d.parquet",
                  "SELECT i AS deal_id, 'deal ' || i AS title FROM range(3) t(i)", "parquet");
  Register({"shop", "deals"}, {"raw/shop/deals/d.parquet"}, "parquet");
  WriteText("raw/shop/orders/o.csv", "order_id,amount\n1,9.5\n2,10.25\n");
  Register({"shop", "orders"}, {"raw/shop/orders/o.csv"}, "csv");
  auto joined =
      Run("SELECT count(*), sum(amount) FROM shop.orders o JOIN shop.deals d ON o.order_id = "
          "d.deal_id");
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ((*joined)[0], (std::vector<std::string>{"2", "19.75"}));
}

TEST_F(EngineTest, NewColumnsReadAsNullInOldFiles) {
  WriteWithDuckDb("raw/shop/t/1.parquet", "SELECT 1 AS a", "parquet");
  Register({"shop", "t"}, {"raw/shop/t/1.parquet"}, "parquet");
  WriteWithDuckDb("raw/shop/t/2.parquet", "SELECT 2 AS a, 'new' AS b", "parquet");
  Register({"shop", "t"}, {"raw/shop/t/2.parquet"}, "parquet");
  auto rows = Run("SELECT a, b FROM shop.t ORDER BY a");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, (std::vector<std::vector<std::string>>{{"1", "NULL"}, {"2", "new"}}));
}

TEST_F(EngineTest, PartitionFiltersSkipOtherPartitionsFiles) {
  WriteWithDuckDb("raw/shop/p/day=2026-11-01/f.parquet", "SELECT 1 AS v", "parquet");
  WriteWithDuckDb("raw/shop/p/day=2026-11-02/f.parquet", "SELECT 2 AS v", "parquet");
  Register({"shop", "p"},
           {"raw/shop/p/day=2026-11-01/f.parquet", "raw/shop/p/day=2026-11-02/f.parquet"},
           "parquet", {Column("day", "DATE")}, {{{"day", "2026-11-01"}}, {{"day", "2026-11-02"}}});
  auto all = Run("SELECT day, v FROM shop.p ORDER BY day");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all,
            (std::vector<std::vector<std::string>>{{"2026-11-01", "1"}, {"2026-11-02", "2"}}));
  // Corrupt the second partition's file: a query on the first partition must not touch it.
  WriteText("raw/shop/p/day=2026-11-02/f.parquet", "this is not parquet");
  auto pruned = Run("SELECT sum(v) FROM shop.p WHERE day = DATE '2026-11-01'");
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ((*pruned)[0][0], "1");
  EXPECT_FALSE(Run("SELECT sum(v) FROM shop.p").ok());
}

TEST_F(EngineTest, BytesScannedCountOnlyFilesFiltersCannotRuleOut) {
  WriteWithDuckDb("raw/shop/p/day=2026-11-01/f.parquet", "SELECT range AS v FROM range(1000)",
                  "parquet");
  WriteWithDuckDb("raw/shop/p/day=2026-11-02/f.parquet", "SELECT range AS v FROM range(5000)",
                  "parquet");
  Register({"shop", "p"},
           {"raw/shop/p/day=2026-11-01/f.parquet", "raw/shop/p/day=2026-11-02/f.parquet"},
           "parquet", {Column("day", "DATE")}, {{{"day", "2026-11-01"}}, {{"day", "2026-11-02"}}});
  const int64_t first =
      static_cast<int64_t>(fs::file_size(fs::path(root_) / "raw/shop/p/day=2026-11-01/f.parquet"));
  const int64_t second =
      static_cast<int64_t>(fs::file_size(fs::path(root_) / "raw/shop/p/day=2026-11-02/f.parquet"));
  auto scanned = [&](const std::string& sql) {
    auto cursor = engine_->Query(admin_, sql);
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() ? (*cursor)->bytes_scanned() : -1;
  };
  EXPECT_EQ(scanned("SELECT sum(v) FROM shop.p"), first + second);
  EXPECT_EQ(scanned("SELECT sum(v) FROM shop.p WHERE day = DATE '2026-11-01'"), first);
  EXPECT_EQ(scanned("SELECT sum(v) FROM shop.p WHERE v >= 2000"), second);  // min/max stats
  EXPECT_EQ(scanned("SELECT 1"), 0);

  QueryOptions limited;
  limited.max_bytes_scanned = first;
  EXPECT_TRUE(
      engine_->Query(admin_, "SELECT sum(v) FROM shop.p WHERE day = DATE '2026-11-01'", limited)
          .ok());
  auto refused = engine_->Query(admin_, "SELECT sum(v) FROM shop.p", limited);
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), testing::HasSubstr("would scan"));
}

TEST_F(EngineTest, PlaceholdersAreBoundNotSplicedAndPruneFiles) {
  WriteWithDuckDb("raw/shop/p/day=2026-11-01/f.parquet", "SELECT 1 AS v, 'a' AS s", "parquet");
  WriteWithDuckDb("raw/shop/p/day=2026-11-02/f.parquet", "SELECT 2 AS v, 'b' AS s", "parquet");
  Register({"shop", "p"},
           {"raw/shop/p/day=2026-11-01/f.parquet", "raw/shop/p/day=2026-11-02/f.parquet"},
           "parquet", {Column("day", "DATE")}, {{{"day", "2026-11-01"}}, {{"day", "2026-11-02"}}});
  auto run = [&](const std::string& sql, std::vector<QueryParameter> parameters,
                 int64_t* scanned =
                     nullptr) -> absl::StatusOr<std::vector<std::vector<std::string>>> {
    QueryOptions options;
    options.parameters = std::move(parameters);
    ASSIGN_OR_RETURN(auto cursor, engine_->Query(admin_, sql, options));
    if (scanned != nullptr) *scanned = cursor->bytes_scanned();
    return AllRows(*cursor);
  };
  int64_t all = 0, one = 0;
  auto rows = run("SELECT v FROM shop.p WHERE day >= $1", {{"2026-11-01", ""}}, &all);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 2u);
  rows = run("SELECT v, s FROM shop.p WHERE day = $1 AND v = $2",
             {{"2026-11-02", "DATE"}, {"2", "BIGINT"}}, &one);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, (std::vector<std::vector<std::string>>{{"2", "b"}}));
  EXPECT_LT(one, all);  // the other day's file was not read
  // A value is a value, however it is quoted.
  rows = run("SELECT count(*) FROM shop.p WHERE s = $1", {{"a' OR 'x' = 'x", ""}});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ((*rows)[0][0], "0");
  EXPECT_TRUE(absl::IsInvalidArgument(run("SELECT v FROM shop.p WHERE v = $1", {}).status()));
  // A typed value can change a result column's type (DuckDB binds again with it): it is decoded
  // by what the result holds (the column was prepared as VARCHAR, it executes as BIGINT).
  rows = run("SELECT CASE WHEN v > 0 THEN $1 ELSE '0' END AS c FROM shop.p ORDER BY v",
             {{"5000000000", "BIGINT"}});
  if (rows.ok()) {
    EXPECT_EQ((*rows)[0][0], "5000000000");
  } else {
    EXPECT_TRUE(absl::IsInvalidArgument(rows.status())) << rows.status();
  }
  EXPECT_TRUE(absl::IsInvalidArgument(
      run("SELECT v FROM shop.p WHERE v = $1", {{"x", "BIGINT"}}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      run("CREATE VIEW shop.q AS SELECT v FROM shop.p WHERE v = $1", {{"1", ""}}).status()));
  // CREATE TABLE AS binds them like a query.
  rows = run("CREATE TABLE shop.q AS SELECT v FROM shop.p WHERE v = $1", {{"2", ""}});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(FirstCell(*engine_, "SELECT sum(v) FROM shop.q"), "2");
}

TEST_F(EngineTest, ViewsFollowNewSnapshots) {
  WriteText("raw/shop/e/1.json", "{\"x\": 1}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  EXPECT_EQ((*Run("SELECT count(*) FROM shop.e"))[0][0], "1");
  WriteText("raw/shop/e/2.json", "{\"x\": 2}\n{\"x\": 3}\n");
  Register({"shop", "e"}, {"raw/shop/e/2.json"}, "json");
  EXPECT_EQ((*Run("SELECT count(*) FROM shop.e"))[0][0], "3");
}

// EXPLAIN shows DuckDB's plan after a line with what pruning leaves the query to read; the query
// inside is checked like any other.
TEST_F(EngineTest, ExplainShowsThePlanAndTheFilesItWouldRead) {
  WriteText("raw/shop/e/1.json", "{\"x\": 1}\n");
  WriteText("raw/shop/e/2.json", "{\"x\": 20}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json", "raw/shop/e/2.json"}, "json");
  auto plan = Run("/* why */ EXPLAIN SELECT sum(x) FROM shop.e WHERE x > 10");
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_GE(plan->size(), 2u);
  EXPECT_EQ((*plan)[0][0], "loch_scan");
  EXPECT_THAT((*plan)[0][1], testing::HasSubstr("reads 1 of 2 data file(s)"));
  EXPECT_THAT((*plan)[1][1], testing::HasSubstr("READ_JSON"));
  EXPECT_FALSE(Run("EXPLAIN SELECT * FROM read_csv('/etc/passwd')").ok());
  EXPECT_FALSE(Run("EXPLAIN ANALYZE SELECT * FROM shop.e").ok());
  EXPECT_FALSE(Run("EXPLAIN COPY (SELECT 1) TO '/tmp/x.csv'").ok());
}

// The first layer: the guard refuses these before DuckDB runs anything, each for its reason.
TEST_F(EngineTest, SandboxRefusesFilesAndNonQueries) {
  WriteText("raw/shop/e/1.json", "{\"x\": 1}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  const std::string lake_file = root_ + "/raw/shop/e/1.json";
  const std::string table_function = "is not allowed: queries read catalog tables";
  const std::string file = "queries read catalog tables (DATABASE.TABLE), not files";
  const std::string not_a_query = "is not allowed: statements read and write catalog tables";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"SELECT * FROM read_csv('/etc/passwd')", table_function},
      {"SELECT * FROM '/etc/passwd'", file},
      {"SELECT * FROM read_text('/etc/hostname')", table_function},
      {"SELECT * FROM glob('/etc/*')", table_function},
      {fmt::format("SELECT * FROM read_json('{}')", lake_file), table_function},
      {fmt::format("SELECT * FROM '{}'", lake_file), file},
      {"SELECT * FROM range(3) WHERE 1 IN (SELECT 1 FROM read_parquet('/x.parquet'))",
       table_function},
      {"COPY (SELECT 1) TO '/tmp/loch-escape.csv'", not_a_query},
      {fmt::format("COPY (SELECT 1) TO '{}/raw/planted.csv'", root_), not_a_query},
      {"ATTACH '/tmp/x.db' AS x", not_a_query},
      {"INSTALL httpfs", not_a_query},
      {"LOAD httpfs", not_a_query},
      {"SET enable_external_access = true", not_a_query},
      {"PRAGMA version", not_a_query},
      {"SELECT 1; SELECT 2", "send one statement at a time"},
      {"SELECT * FROM system.main.duckdb_settings()", table_function},
      {"SELECT * FROM duckdb_settings()", table_function},
      // Statements loch does not run say what to do instead (and never that CREATE or INSERT
      // are not allowed: they are).
      {"UPDATE shop.e SET x = 2", "UPDATE is not supported: loch tables change by appending"},
      {"DELETE FROM shop.e", "DELETE is not supported"},
      {"ALTER TABLE shop.e ADD COLUMN x INTEGER", "this ALTER statement is not one loch runs"},
      {"ALTER VIEW mart.v RENAME TO w", "CREATE OR REPLACE VIEW"},
      {"COMMENT ON SCHEMA shop IS 'x'", "it runs COMMENT ON TABLE db.t IS 'text'"},
      {"CREATE SEQUENCE s", "this CREATE statement is not one loch runs"},
  };
  auto connection = std::move(duck::Connection::Open(SandboxedDatabase())).value();
  for (const auto& [sql, reason] : refused) {
    auto guarded = CheckUserQuery(connection, sql);
    ASSERT_FALSE(guarded.ok()) << "the guard let through: " << sql;
    EXPECT_THAT(std::string(guarded.status().message()), testing::HasSubstr(reason)) << sql;
    EXPECT_FALSE(Run(sql).ok()) << "should be refused: " << sql;
  }
  EXPECT_FALSE(fs::exists("/tmp/loch-escape.csv"));
  EXPECT_FALSE(fs::exists(root_ + "/raw/planted.csv"));
  // Under the guard, the engine's own database is locked down as the next test checks.
  EXPECT_EQ((*Run("SELECT current_setting('enable_external_access')"))[0][0], "false");
  EXPECT_EQ((*Run("SELECT current_setting('lock_configuration')"))[0][0], "true");
  // And the engine still serves.
  EXPECT_TRUE(Run("WITH t AS (SELECT x FROM shop.e) SELECT * FROM t, range(2)").ok());
}

// The second layer: with the guard bypassed, DuckDB's locked configuration alone keeps statements
// inside the readable root (reads, writes, attachments) and its settings as they are.
TEST_F(EngineTest, LockedDatabaseAloneRefusesWhatTheGuardWouldStop) {
  WriteText("raw/shop/e/1.json", "{\"x\": 1}\n");
  const std::string outside = scratch_ / "outside";
  fs::create_directories(outside);
  { std::ofstream(outside + "/secret.csv") << "secret\n42\n"; }
  duck::Database& database = SandboxedDatabase();
  auto connection = std::move(duck::Connection::Open(database)).value();
  // Inside the root, reading works: the refusals below are about where, not what.
  EXPECT_TRUE(
      connection.Execute(fmt::format("SELECT * FROM read_json('{}/raw/shop/e/1.json')", root_))
          .ok());
  const std::vector<std::string> refused = {
      fmt::format("SELECT * FROM read_csv('{}/secret.csv')", outside),
      "SELECT * FROM read_text('/etc/hostname')",
      "SELECT * FROM glob('/etc/*')",
      "COPY (SELECT 1) TO '/tmp/loch-escape-locked.csv'",
      fmt::format("COPY (SELECT 1) TO '{}/planted.csv'", outside),
      fmt::format("ATTACH '{}/x.db' AS x", outside),
      "INSTALL httpfs",
      "LOAD httpfs",
      "SET enable_external_access = true",
      fmt::format("SET allowed_directories = ['{}']", outside),
      "SET lock_configuration = false",
  };
  for (const std::string& sql : refused) {
    EXPECT_FALSE(connection.Execute(sql).ok()) << "DuckDB alone let through: " << sql;
  }
  EXPECT_FALSE(fs::exists("/tmp/loch-escape-locked.csv"));
  EXPECT_FALSE(fs::exists(outside + "/planted.csv"));
  EXPECT_FALSE(fs::exists(outside + "/x.db"));
  // What this layer cannot stop: writing under the root, which the engine itself needs (its
  // scratch folders live there). Only the guard keeps user SQL from it (the test above).
  EXPECT_TRUE(connection.Execute(fmt::format("COPY (SELECT 1) TO '{}/scratch.csv'", root_)).ok());
}

TEST_F(EngineTest, SymlinkInTheLakeDoesNotLetQueriesOut) {
  const std::string outside = scratch_ / "outside";
  fs::create_directories(outside);
  { std::ofstream(outside + "/secret.json") << "{\"secret\": \"top\"}\n"; }
  // A symlink planted in the lake, pointing out of it.
  fs::create_directories(root_ + "/raw/evil");
  ASSERT_EQ(::symlink((outside + "/secret.json").c_str(), (root_ + "/raw/evil/s.json").c_str()), 0);
  EXPECT_FALSE(Run(fmt::format("SELECT * FROM '{}/raw/evil/s.json'", root_)).ok());
  EXPECT_FALSE(Run(fmt::format("SELECT * FROM read_json('{}/raw/evil/s.json')", root_)).ok());

  // A catalog data file replaced by a symlink: the view refuses to read through it.
  WriteText("raw/shop/e/1.json", "{\"secret\": \"no\"}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  fs::remove(root_ + "/raw/shop/e/1.json");
  ASSERT_EQ(::symlink((outside + "/secret.json").c_str(), (root_ + "/raw/shop/e/1.json").c_str()),
            0);
  auto result = Run("SELECT secret FROM shop.e");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(Message(result.status()), HasSubstr("cannot be read safely"));
}

TEST_F(EngineTest, ErrorsNameTheProblem) {
  WriteText("raw/shop/e/1.json", "{\"x\": 1}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  auto unknown = Run("SELECT * FROM shop.nope");
  ASSERT_TRUE(absl::IsNotFound(unknown.status()));
  EXPECT_THAT(Message(unknown.status()), HasSubstr("tables: shop.e"));
  auto unqualified = Run("SELECT * FROM e");
  EXPECT_THAT(Message(unqualified.status()), HasSubstr("DATABASE.TABLE"));
  auto syntax = Run("SELECT x\nFROM shop.e\nWHER x = 1");
  ASSERT_TRUE(absl::IsInvalidArgument(syntax.status()));
  EXPECT_THAT(Message(syntax.status()), HasSubstr("line 3"));
  auto column = Run("SELECT y FROM shop.e");
  ASSERT_TRUE(absl::IsInvalidArgument(column.status()));
  EXPECT_THAT(Message(column.status()), HasSubstr("(line 1, column 8)"));
}

TEST_F(EngineTest, TimeoutInterruptsAndEngineStaysUsable) {
  Stopwatch watch;
  QueryOptions options;
  options.timeout = std::chrono::milliseconds(200);
  auto result = Run("SELECT count(*) FROM range(100000000000) a", options);
  EXPECT_TRUE(absl::IsDeadlineExceeded(result.status())) << result.status();
  EXPECT_LT(watch.ElapsedMillis(), 5000);
  EXPECT_EQ((*Run("SELECT 42"))[0][0], "42");
}

TEST_F(EngineTest, CancelFromAnotherThread) {
  auto cursor = engine_->Query(admin_, "SELECT * FROM range(100000000000) a");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (*cursor)->Cancel();
  });
  absl::Status status;
  size_t rows = 0;
  while (true) {
    auto chunk = (*cursor)->Next();
    if (!chunk.ok()) {
      status = chunk.status();
      break;
    }
    if (!chunk->has_value()) break;
    rows += (*chunk)->row_count;
  }
  canceller.join();
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_GT(rows, 0u);  // rows streamed before the cancel: the result was not materialized first
}

TEST_F(EngineTest, LargeResultsStreamInChunks) {
  auto cursor =
      std::move(engine_->Query(admin_, "SELECT i, i * 2 AS j FROM range(100000) t(i)")).value();
  size_t chunks = 0, rows = 0;
  while (true) {
    auto chunk = std::move(cursor->Next()).value();
    if (!chunk.has_value()) break;
    ++chunks;
    rows += chunk->row_count;
    EXPECT_LE(chunk->row_count, 2048u);
  }
  EXPECT_EQ(rows, 100000u);
  EXPECT_GT(chunks, 10u);
}

// Partitioned writes make about one file per partition however the rows arrive (DuckDB reopening
// partitions beyond its 100 open files used to start a new file each time), with the same rows.
TEST_F(EngineTest, PartitionedWritesMakeAboutOneFilePerPartition) {
  ASSERT_TRUE(Run("CREATE DATABASE mart").ok());
  auto created =
      Run("CREATE TABLE mart.spread WITH (partitioned_by = ARRAY['p']) AS "
          "SELECT i, hash(i) % 1000 AS h, i % 229 AS p FROM range(600000) r(i)");
  ASSERT_TRUE(created.ok()) << created.status();
  auto table = catalog_->ReadTable(admin_, {"mart", "spread"}, std::nullopt);
  ASSERT_TRUE(table.ok()) << table.status();
  std::set<std::string> partitions;
  for (const DataFile& file : table->files) partitions.insert(file.partition_values.at("p"));
  EXPECT_EQ(partitions.size(), 229u);
  EXPECT_LE(table->files.size(), 229u + 8) << "one file per partition, a few split by threads";
  EXPECT_EQ((*Run("SELECT count(*), sum(i), count(DISTINCT p) FROM mart.spread"))[0],
            (std::vector<std::string>{"600000", "179999700000", "229"}));
  EXPECT_EQ((*Run("SELECT count(*) FROM mart.spread WHERE p = 17 AND i % 229 <> 17"))[0][0], "0");
}

// sum() of integers is a HUGEINT, which DuckDB writes to Parquet as a DOUBLE: 2^53 + 1 came back as
// 2^53, with no error. A new table keeps it as DECIMAL(38,0), exact, nested ones too.
TEST_F(EngineTest, SumsOfIntegersAreWrittenExactly) {
  auto created =
      Run("CREATE TABLE mart.sums AS SELECT sum(x) AS total, [sum(x)] AS totals, "
          "CAST(170141183460469231731687303715884105 AS HUGEINT) AS wide FROM (VALUES "
          "(CAST(9007199254740992 AS BIGINT)), (CAST(1 AS BIGINT))) AS v(x)");
  ASSERT_TRUE(created.ok()) << created.status();
  auto read =
      Run("SELECT CAST(total AS VARCHAR), typeof(total), CAST(totals[1] AS VARCHAR), "
          "typeof(totals), CAST(wide AS VARCHAR) FROM mart.sums");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0],
            (std::vector<std::string>{"9007199254740993", "DECIMAL(38,0)", "9007199254740993",
                                      "DECIMAL(38,0)[]", "170141183460469231731687303715884105"}));
  ASSERT_TRUE(Run("INSERT INTO mart.sums SELECT 1, [2], 3").ok());
  EXPECT_EQ((*Run("SELECT CAST(sum(total) AS VARCHAR) FROM mart.sums"))[0][0], "9007199254740994");
}

TEST_F(EngineTest, CreateTableAsInsertIntoAndDropTable) {
  WriteText("raw/shop/e/1.json",
            "{\"day\": \"2026-10-01\", \"kind\": \"view\", \"v\": 1}\n"
            "{\"day\": \"2026-10-01\", \"kind\": \"buy\", \"v\": 2}\n"
            "{\"day\": \"2026-10-02\", \"kind\": \"view\", \"v\": 3}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  auto created =
      Run("CREATE TABLE mart.daily WITH (partitioned_by = ARRAY['day']) AS "
          "SELECT kind, sum(v) AS total, CAST(day AS DATE) AS day FROM shop.e GROUP BY kind, day");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)[0][0], "CREATE TABLE");
  EXPECT_EQ((*created)[0][2], "3");  // rows
  auto table = catalog_->ReadTable(admin_, {"mart", "daily"}, std::nullopt);
  ASSERT_TRUE(table.ok());
  ASSERT_EQ(table->table.schema.partition_columns.size(), 1u);
  EXPECT_EQ(table->table.schema.partition_columns[0].type, "DATE");
  for (const DataFile& file : table->files) {
    EXPECT_TRUE(file.key.starts_with("tables/mart/daily/")) << file.key;
    EXPECT_TRUE(file.key.find("/day=2026-10-0") != std::string::npos) << file.key;
    EXPECT_TRUE(fs::exists(root_ + "/" + file.key));
  }
  EXPECT_EQ((*Run("SELECT sum(total) FROM mart.daily WHERE day = DATE '2026-10-01'"))[0][0], "3");

  auto inserted = Run("INSERT INTO mart.daily SELECT 'refund', -1, DATE '2026-10-03'");
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ((*Run("SELECT count(*), sum(total) FROM mart.daily"))[0],
            (std::vector<std::string>{"4", "5"}));
  auto mismatch = Run("INSERT INTO mart.daily SELECT 1");
  EXPECT_TRUE(absl::IsInvalidArgument(mismatch.status())) << mismatch.status();
  auto again = Run("CREATE TABLE mart.daily AS SELECT 1 AS x");
  EXPECT_TRUE(absl::IsAlreadyExists(again.status()));
  EXPECT_TRUE(Run("CREATE TABLE IF NOT EXISTS mart.daily AS SELECT 1 AS x").ok());

  auto dropped = Run("DROP TABLE mart.daily");
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_TRUE(absl::IsNotFound(Run("SELECT * FROM mart.daily").status()));
  EXPECT_TRUE(absl::IsNotFound(Run("DROP TABLE mart.daily").status()));
  EXPECT_TRUE(Run("DROP TABLE IF EXISTS mart.daily").ok());
}

TEST_F(EngineTest, ViewsAreStoredQueriesOverCurrentData) {
  WriteText("raw/shop/e/1.json", "{\"kind\": \"view\", \"v\": 1}\n{\"kind\": \"buy\", \"v\": 2}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  auto created = Run("CREATE VIEW mart.buys AS SELECT v FROM shop.e WHERE kind = 'buy';");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)[0][0], "CREATE VIEW");
  auto stored = catalog_->GetView(admin_, {"mart", "buys"});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->sql, "SELECT v FROM shop.e WHERE kind = 'buy'");
  ASSERT_EQ(stored->columns.size(), 1u);
  EXPECT_EQ(stored->columns[0].type, "BIGINT");
  EXPECT_EQ((*Run("SELECT sum(v) FROM mart.buys"))[0][0], "2");

  // A view of a view; a new snapshot of the table underneath shows through both.
  ASSERT_TRUE(Run("CREATE VIEW mart.doubled AS SELECT v * 2 AS w FROM mart.buys").ok());
  EXPECT_EQ((*Run("SELECT sum(w) FROM mart.doubled"))[0][0], "4");
  ASSERT_TRUE(Run("INSERT INTO shop.e SELECT 'buy', 10").ok());
  EXPECT_EQ((*Run("SELECT sum(w) FROM mart.doubled"))[0][0], "24");

  // Names: a view is not a table, and the other way round.
  EXPECT_TRUE(absl::IsAlreadyExists(Run("CREATE VIEW mart.buys AS SELECT 1").status()));
  EXPECT_TRUE(absl::IsAlreadyExists(Run("CREATE VIEW shop.e AS SELECT 1").status()));
  EXPECT_TRUE(absl::IsAlreadyExists(Run("CREATE TABLE mart.buys AS SELECT 1 AS x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Run("DROP TABLE mart.buys").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Run("DROP VIEW shop.e").status()));

  // A replacement that would make views read each other in a circle fails when queried, clearly.
  ASSERT_TRUE(Run("CREATE OR REPLACE VIEW mart.buys AS SELECT w AS v FROM mart.doubled").ok());
  auto circular = Run("SELECT * FROM mart.doubled");
  EXPECT_TRUE(absl::IsInvalidArgument(circular.status())) << circular.status();
  EXPECT_THAT(std::string(circular.status().message()), testing::HasSubstr("refers to itself"));
  EXPECT_TRUE(
      absl::IsInvalidArgument(Run("CREATE VIEW mart.me AS SELECT * FROM mart.me").status()));

  // Views are checked like queries and leave nothing when they fail.
  EXPECT_FALSE(Run("CREATE VIEW mart.bad AS SELECT * FROM read_csv('/etc/passwd')").ok());
  EXPECT_FALSE(Run("CREATE VIEW mart.bad AS SELECT nope FROM shop.e").ok());
  EXPECT_FALSE(Run("CREATE VIEW mart.bad AS SELEC 1").ok());
  EXPECT_TRUE(absl::IsNotFound(catalog_->GetView(admin_, {"mart", "bad"}).status()));

  // mart.buys reads mart.doubled now (in a circle): dropping one needs CASCADE.
  EXPECT_TRUE(absl::IsFailedPrecondition(Run("DROP VIEW mart.doubled").status()));
  ASSERT_TRUE(Run("DROP VIEW mart.doubled CASCADE").ok());
  EXPECT_TRUE(absl::IsNotFound(Run("SELECT * FROM mart.doubled").status()));
  EXPECT_TRUE(absl::IsNotFound(catalog_->GetView(admin_, {"mart", "buys"}).status()));
  EXPECT_TRUE(absl::IsNotFound(Run("DROP VIEW mart.doubled").status()));
  EXPECT_TRUE(Run("DROP VIEW IF EXISTS mart.doubled").ok());
}

// From the issue: DROP TABLE silently broke the views on it and left its files in the lake while
// printing "files 0".
TEST_F(EngineTest, DropsRefuseWhileViewsReadThemAndPurgeDeletesFiles) {
  WriteText("raw/shop/e/1.json", "{\"kind\": \"buy\", \"v\": 1}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  ASSERT_TRUE(Run("CREATE VIEW mart.buys AS SELECT v FROM shop.e WHERE kind = 'buy'").ok());
  ASSERT_TRUE(Run("CREATE VIEW mart.doubled AS SELECT v * 2 AS w FROM mart.buys").ok());
  ASSERT_TRUE(Run("CREATE VIEW mart.other AS SELECT 1 AS one").ok());
  EXPECT_EQ(catalog_->GetView(admin_, {"mart", "buys"})->reads,
            (std::vector<TableName>{{"shop", "e"}}));

  auto refused = Run("DROP TABLE shop.e");
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_EQ(refused.status().message(),
            "cannot drop shop.e: views mart.buys, mart.doubled read it; drop them first, or use "
            "DROP TABLE shop.e CASCADE to drop them too");
  auto view_refused = Run("DROP VIEW mart.buys");
  EXPECT_TRUE(absl::IsFailedPrecondition(view_refused.status())) << view_refused.status();
  EXPECT_EQ((*Run("SELECT sum(w) FROM mart.doubled"))[0][0], "2");

  // A view defined before the catalog kept what views read (format 9) is found from its SQL.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((root_ + "/.loch/catalog.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE views SET reads = NULL", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_FALSE(catalog_->GetView(admin_, {"mart", "doubled"})->reads.has_value());
  EXPECT_TRUE(absl::IsFailedPrecondition(Run("DROP TABLE shop.e").status()));

  auto cascaded = Run("DROP TABLE shop.e CASCADE");
  ASSERT_TRUE(cascaded.ok()) << cascaded.status();
  EXPECT_EQ((*cascaded)[0][2], "1");  // rows
  EXPECT_EQ((*cascaded)[0][3], "1");  // files
  EXPECT_THAT((*cascaded)[0][5],
              testing::AllOf(testing::HasSubstr("dropped the views mart.buys, mart.doubled"),
                             testing::HasSubstr("its 1 file(s) (24 B) stay in the lake")));
  EXPECT_TRUE(absl::IsNotFound(catalog_->GetView(admin_, {"mart", "doubled"}).status()));
  EXPECT_TRUE(catalog_->GetView(admin_, {"mart", "other"}).ok());
  EXPECT_TRUE(fs::exists(root_ + "/raw/shop/e/1.json"));  // kept without PURGE

  // PURGE deletes every file the table has had, at any snapshot, that no other table has had.
  ASSERT_TRUE(Run("CREATE TABLE mart.t AS SELECT 1 AS x").ok());
  ASSERT_TRUE(Run("INSERT INTO mart.t SELECT 2").ok());
  WriteText("raw/shop/f/1.json", "{\"v\": 1}\n");
  Register({"shop", "f"}, {"raw/shop/e/1.json"}, "json");  // a file shop.e (dropped) had
  ASSERT_FALSE(ListAll(*store_, "tables/mart/t/")->empty());
  auto purged = Run("DROP TABLE mart.t PURGE");
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_THAT((*purged)[0][5], testing::HasSubstr("deleted the 2 file(s)"));
  EXPECT_TRUE(ListAll(*store_, "tables/mart/t/")->empty());
  auto shared = Run("DROP TABLE shop.f PURGE");
  ASSERT_TRUE(shared.ok()) << shared.status();
  EXPECT_THAT((*shared)[0][5], testing::HasSubstr("deleted the 0 file(s)"));
  EXPECT_TRUE(fs::exists(root_ + "/raw/shop/e/1.json"));
  EXPECT_TRUE(Run("DROP TABLE IF EXISTS mart.t PURGE").ok());
}

TEST_F(EngineTest, CommentsAndRenamesAreVersionedInTheCatalog) {
  WriteText("raw/shop/e/1.json", "{\"kind\": \"buy\", \"v\": 1}\n{\"kind\": \"view\", \"v\": 2}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  EXPECT_TRUE(Run("CREATE DATABASE Mart").ok());  // folds to lowercase
  EXPECT_TRUE(absl::IsAlreadyExists(Run("CREATE SCHEMA mart").status()));
  EXPECT_EQ((*Run("CREATE DATABASE IF NOT EXISTS mart"))[0][5], "it already existed");
  EXPECT_TRUE(absl::IsInvalidArgument(Run("CREATE DATABASE \"Bad-Name\"").status()));

  auto commented = Run("COMMENT ON TABLE shop.e IS 'Shop events; one per click'");
  ASSERT_TRUE(commented.ok()) << commented.status();
  ASSERT_TRUE(Run("COMMENT ON COLUMN shop.e.v IS 'the value, in cents'").ok());
  ASSERT_TRUE(Run("comment on column SHOP.E.KIND is 'it''s the kind'").ok());
  auto table = catalog_->ReadTable(admin_, {"shop", "e"}, std::nullopt);
  EXPECT_EQ(table->table.schema.comment, "Shop events; one per click");
  EXPECT_EQ(table->table.schema.Find("v")->comment, "the value, in cents");
  EXPECT_EQ(table->table.schema.Find("kind")->comment, "it's the kind");
  EXPECT_EQ(table->table.schema.version, 4);  // each comment is a schema version
  EXPECT_EQ(table->snapshot.operation, "comment");
  EXPECT_EQ((*Run("COMMENT ON COLUMN shop.e.v IS 'the value, in cents'"))[0][5],
            "the comment was already that");
  ASSERT_TRUE(Run("COMMENT ON COLUMN shop.e.v IS NULL").ok());
  EXPECT_EQ(
      catalog_->ReadTable(admin_, {"shop", "e"}, std::nullopt)->table.schema.Find("v")->comment,
      "");
  auto schemas = catalog_->ListSchemas(admin_, {"shop", "e"});
  EXPECT_EQ(schemas->at(1).comment, "Shop events; one per click");
  EXPECT_EQ(schemas->at(2).Find("v")->comment, "the value, in cents");
  EXPECT_THAT(std::string(Run("COMMENT ON COLUMN shop.e.knd IS 'x'").status().message()),
              testing::HasSubstr("table shop.e has no column \"knd\" (did you mean kind?)"));

  // A table renamed keeps its files and history; views that read it are in the way.
  ASSERT_TRUE(Run("CREATE VIEW mart.buys AS SELECT v FROM shop.e WHERE kind = 'buy'").ok());
  auto refused = Run("ALTER TABLE shop.e RENAME TO events");
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), testing::HasSubstr("mart.buys"));
  EXPECT_TRUE(absl::IsInvalidArgument(Run("ALTER TABLE mart.buys RENAME TO b").status()));
  ASSERT_TRUE(Run("DROP VIEW mart.buys").ok());
  auto renamed = Run("ALTER TABLE shop.e RENAME TO events");
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ((*renamed)[0][1], "shop.events");
  EXPECT_THAT((*renamed)[0][5], testing::HasSubstr("renamed from shop.e"));
  EXPECT_EQ((*Run("SELECT sum(v) FROM shop.events"))[0][0], "3");
  EXPECT_THAT(std::string(Run("SELECT * FROM shop.e").status().message()),
              testing::HasSubstr("shop.e"));
  auto history = catalog_->ListSnapshots(admin_, {"shop", "events"});
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().operation, "rename");
  EXPECT_EQ(history->front().operation, "create");
  // Into another database (which must exist), and not over a table or view.
  ASSERT_TRUE(Run("CREATE VIEW mart.v AS SELECT 1 AS one").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(Run("ALTER TABLE shop.events RENAME TO mart.v").status()));
  EXPECT_TRUE(absl::IsNotFound(Run("ALTER TABLE shop.events RENAME TO nowhere.e").status()));
  ASSERT_TRUE(Run("ALTER TABLE shop.events RENAME TO mart.events").ok());
  EXPECT_EQ((*Run("SELECT count(*) FROM mart.events WHERE kind = 'buy'"))[0][0], "1");
  EXPECT_EQ(catalog_->ReadTable(admin_, {"mart", "events"}, std::nullopt)->table.schema.comment,
            "Shop events; one per click");
  EXPECT_EQ((*Run("ALTER TABLE IF EXISTS shop.e RENAME TO x"))[0][5], "it did not exist");

  // A table a stream delivers into keeps its name (the stream would make it again).
  ASSERT_TRUE(Run("CREATE TABLE raw.clicks AS SELECT 1 AS x").ok());
  ASSERT_TRUE(catalog_
                  ->CreateStream(
                      admin_, SavedStream{"clicks", {{"name", "clicks"}, {"table", "raw.clicks"}}})
                  .ok());
  auto stream_table = Run("ALTER TABLE raw.clicks RENAME TO old_clicks");
  EXPECT_TRUE(absl::IsFailedPrecondition(stream_table.status())) << stream_table.status();
  EXPECT_THAT(std::string(stream_table.status().message()), testing::HasSubstr("stream clicks"));
}

TEST_F(EngineTest, TheQueryHistoryIsASystemTableViewsCanRead) {
  QueryRecord hostile;
  hostile.id = "q1";
  const char kSql[] = "SELECT 1\0; DROP TABLE x; '\xff\xfe";  // a NUL, invalid UTF-8, a quote
  hostile.sql = std::string(kSql, sizeof(kSql) - 1);
  hostile.front_end = "http";
  hostile.state = "FAILED";
  hostile.error = "it's bad";
  hostile.submitted_micros = 1;
  ASSERT_TRUE(catalog_->RecordQuery(admin_, hostile).ok());
  auto read = Run("SELECT sql, error, submitted FROM loch.query_history");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1u);
  EXPECT_EQ((*read)[0][0], "SELECT 1\xEF\xBF\xBD; DROP TABLE x; '\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ((*read)[0][1], "it's bad");
  EXPECT_EQ((*read)[0][2], "1970-01-01 00:00:00.000001");
  ASSERT_TRUE(Run("CREATE VIEW ops.failures AS SELECT id FROM loch.query_history WHERE state = "
                  "'FAILED'")
                  .ok());
  auto through_view = Run("SELECT * FROM ops.failures");
  ASSERT_TRUE(through_view.ok()) << through_view.status();
  EXPECT_EQ((*through_view)[0][0], "q1");
  EXPECT_THAT(std::string(Run("SELECT * FROM loch.tables").status().message()),
              testing::HasSubstr("unknown system table loch.tables"));
  EXPECT_TRUE(absl::IsInvalidArgument(catalog_->CreateDatabase(admin_, "loch", false)));
}

TEST_F(EngineTest, FailedWritesLeaveNoTrace) {
  WriteText("raw/shop/e/1.json", "{\"v\": 1}\n");
  Register({"shop", "e"}, {"raw/shop/e/1.json"}, "json");
  EXPECT_FALSE(
      Run("CREATE TABLE mart.bad AS SELECT v / 0 :: INTEGER AS broken, nope FROM shop.e").ok());
  EXPECT_FALSE(Run("CREATE TABLE mart.bad AS SELECT * FROM read_csv('/etc/passwd')").ok());
  EXPECT_FALSE(
      Run("CREATE TABLE mart.bad WITH (partitioned_by = ARRAY['missing']) AS SELECT v FROM shop.e")
          .ok());
  EXPECT_FALSE(Run("CREATE TABLE mart.bad AS SELECT CAST('x' AS INTEGER) AS v FROM shop.e").ok());
  EXPECT_TRUE(
      absl::IsNotFound(catalog_->ReadTable(admin_, {"mart", "bad"}, std::nullopt).status()));
  EXPECT_TRUE(ListAll(*store_, "tables/")->empty());
  bool spool_left = false;
  for (const auto& entry : fs::directory_iterator(root_)) {
    spool_left = spool_left || entry.path().filename().string().starts_with(".loch-tmp-");
  }
  EXPECT_FALSE(spool_left);
  auto malformed = Run("CREATE TABLE nodot AS SELECT 1");
  EXPECT_TRUE(absl::IsInvalidArgument(malformed.status())) << malformed.status();
}

TEST(EngineMemory, MemoryLimitStopsHugeQueries) {
  const TestDir scratch("loch-mem");
  const std::string& root = scratch.path();
  auto store = std::move(LocalObjectStore::Open(root)).value();
  auto catalog = std::move(OpenSqliteCatalog(root + "/catalog.db.sqlite")).value();
  EngineOptions options;
  options.readable_root = root;
  options.memory_limit = "64MB";
  auto engine = std::move(LakeEngine::Open(options, catalog.get(), store.get())).value();
  auto cursor =
      engine->Query(Principal::LocalAdmin(),
                    "SELECT max(length(l)) FROM (SELECT list(i) AS l FROM range(100000000) t(i))");
  absl::Status status = cursor.ok() ? Rows(**cursor).status() : cursor.status();
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
}

}  // namespace
}  // namespace loch
