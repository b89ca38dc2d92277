// End-to-end: the `loch` binary on generated data. The answers to the demo's three business
// questions are checked against expected.json, which the generator computes while writing the data
// (no SQL).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ids.h"
#include "common/test_dir.h"
#include "nlohmann/json.hpp"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

using testing_support::ShellQuote;
using Outcome = testing_support::CommandOutcome;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class CliTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new TestDir("loch-e2e");
    work_ = new fs::path(scratch_->path());
    // One lake with the sample store, shared by the tests of this suite (read-only after setup).
    ASSERT_EQ(Run({"generate", "--out", Data(), "--events", "200000", "--seed", "7"}).exit_code, 0);
    ASSERT_EQ(Run({"init", "--lake", Lake()}).exit_code, 0);
    for (auto [input, table] :
         std::vector<std::pair<std::string, std::string>>{{"deals.json", "shop.deals"},
                                                          {"orders.json", "shop.orders"},
                                                          {"events", "shop.events"}}) {
      Outcome load = Run({"load", Data() + "/" + input, "--table", table, "--lake", Lake()});
      ASSERT_EQ(load.exit_code, 0) << load.err;
    }
    expected_ = new json(json::parse(ReadFile(fs::path(Data()) / "expected.json")));
  }

  static std::string Data() { return (*work_ / "data").string(); }
  static std::string Lake() { return (*work_ / "lake").string(); }

  static Outcome Run(const std::vector<std::string>& args, const std::string& env = "") {
    return testing_support::RunCommand(LOCH_BINARY, args, env);
  }

  static json Question(const std::string& file) {
    const std::string sql = ReadFile(fs::path(LOCH_SOURCE_DIR) / "examples/questions" / file);
    Outcome outcome = Run({"sql", sql, "--format", "json", "--lake", Lake()});
    EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
    return json::parse(outcome.out);
  }

  static void TearDownTestSuite() { delete scratch_; }

  static inline TestDir* scratch_ = nullptr;
  static inline fs::path* work_ = nullptr;
  static inline json* expected_ = nullptr;
};

TEST_F(CliTest, RevenuePerDayMatchesTheGenerator) {
  json rows = Question("1-revenue-per-day.sql");
  const json& expected = (*expected_)["revenue_per_day"];
  ASSERT_EQ(rows.size(), expected.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["day"], expected[i]["day"]);
    EXPECT_EQ(rows[i]["orders"], expected[i]["orders"]);
    EXPECT_NEAR(rows[i]["revenue"].get<double>(), expected[i]["revenue_cents"].get<double>() / 100,
                0.005)
        << rows[i]["day"];
  }
}

TEST_F(CliTest, TopDealsByConversionMatchTheGenerator) {
  json rows = Question("2-top-deals-by-conversion.sql");
  struct Deal {
    int64_t id, viewed, purchased;
    double conversion() const {
      return static_cast<double>(purchased) / static_cast<double>(viewed);
    }
  };
  std::vector<Deal> deals;
  for (const auto& deal : (*expected_)["deals"]) {
    deals.push_back({deal["deal_id"], deal["viewed_sessions"], deal["purchased_sessions"]});
  }
  std::sort(deals.begin(), deals.end(), [](const Deal& a, const Deal& b) {
    return a.conversion() != b.conversion() ? a.conversion() > b.conversion() : a.id < b.id;
  });
  ASSERT_EQ(rows.size(), 10u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["deal_id"], deals[i].id) << "rank " << i;
    EXPECT_EQ(rows[i]["sessions"], deals[i].viewed);
    EXPECT_EQ(rows[i]["purchases"], deals[i].purchased);
    EXPECT_NEAR(rows[i]["conversion_pct"].get<double>(), 100 * deals[i].conversion(), 0.006);
  }
}

TEST_F(CliTest, FunnelMatchesTheGenerator) {
  json rows = Question("3-funnel.sql");
  const json& funnel = (*expected_)["funnel"];
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows)
    EXPECT_EQ(row["sessions"], funnel[row["event_type"].get<std::string>()]);
  EXPECT_EQ(rows[0]["pct_of_views"], 100);
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"init", "--help"},
                                             {"load", "--help"},
                                             {"sql", "--help"},
                                             {"tables", "--help"},
                                             {"describe", "--help"},
                                             {"generate", "--help"},
                                             {"serve", "--help"},
                                             {"crawl", "--help"},
                                             {"crawler", "update", "--help"},
                                             {"crawler", "run", "--help"},
                                             {"stream", "create", "--help"},
                                             {"put", "--help"},
                                             {"vacuum", "--help"}}) {
    Outcome outcome = Run(args);
    EXPECT_EQ(outcome.exit_code, 0) << args[0];
    EXPECT_THAT(outcome.out, HasSubstr("Usage")) << args[0];
  }
  Outcome none = Run({});
  EXPECT_NE(none.exit_code, 0);
}

// Loads are idempotent, and a dry run changes nothing (the suite's lake stays as set up).
TEST_F(CliTest, LoadingAgainAddsNothingAndADryRunChangesNothing) {
  const std::string count = "SELECT count(*) FROM shop.orders";
  const std::string before = Run({"sql", count, "--format", "csv", "--lake", Lake()}).out;
  Outcome again =
      Run({"load", Data() + "/orders.json", "--table", "shop.orders", "--lake", Lake()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("Nothing new to load into shop.orders: 1 file already loaded"));
  EXPECT_THAT(again.out, HasSubstr("--allow-duplicates"));
  const fs::path extra = *work_ / "extra.csv";
  std::ofstream(extra) << "order_id,coupon\n1,SPRING\n";
  Outcome dry =
      Run({"load", extra.string(), "--table", "shop.orders", "--dry-run", "--lake", Lake()});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("Dry run: would load 1 file (1 rows"));
  EXPECT_THAT(dry.out, HasSubstr("    coupon VARCHAR"));
  EXPECT_THAT(dry.out, HasSubstr("new column: coupon VARCHAR"));
  EXPECT_EQ(Run({"sql", count, "--format", "csv", "--lake", Lake()}).out, before);
  Outcome columns = Run({"sql", "SELECT coupon FROM shop.orders", "--lake", Lake()});
  EXPECT_NE(columns.exit_code, 0);
}

TEST_F(CliTest, ErrorsSayWhatWasWrongAndHowToFixIt) {
  Outcome unknown = Run({"sql", "SELECT * FROM shop.ordrs", "--lake", Lake()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("tables: shop.deals, shop.events, shop.orders"));
  EXPECT_THAT(unknown.err, HasSubstr("did you mean shop.orders?"));
  EXPECT_TRUE(unknown.out.empty());
  Outcome bare = Run({"sql", "SELECT * FROM orders", "--lake", Lake()});
  EXPECT_THAT(bare.err, HasSubstr("did you mean shop.orders?"));

  // Misspelled commands and options get a suggestion; --version answers.
  Outcome option = Run({"sql", "SELECT 1", "--formt", "csv", "--lake", Lake()});
  EXPECT_NE(option.exit_code, 0);
  EXPECT_THAT(option.err, HasSubstr("did you mean --format?"));
  Outcome command = Run({"tabels", "--lake", Lake()});
  EXPECT_NE(command.exit_code, 0);
  EXPECT_THAT(command.err, HasSubstr("did you mean `tables`?"));
  Outcome version = Run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out,
              testing::MatchesRegex("loch [0-9]+\\.[0-9]+\\.[0-9]+ \\(DuckDB v1\\.4\\.4\\)\n"));

  Outcome syntax = Run({"sql", "SELECT deal_id\nFROM shop.deals\nGROUP BY BY", "--lake", Lake()});
  EXPECT_EQ(syntax.exit_code, 1);
  EXPECT_THAT(syntax.err, HasSubstr("line 3"));

  Outcome column = Run({"sql", "SELECT nope FROM shop.deals", "--lake", Lake()});
  EXPECT_THAT(column.err, HasSubstr("(line 1, column 8)"));

  Outcome no_lake = Run({"tables", "--lake", (*work_ / "nowhere").string()});
  EXPECT_EQ(no_lake.exit_code, 1);
  EXPECT_THAT(no_lake.err, HasSubstr("loch init"));

  Outcome bad_table = Run({"describe", "shop", "--lake", Lake()});
  EXPECT_THAT(bad_table.err, HasSubstr("DATABASE.TABLE"));

  Outcome missing_file = Run({"load", "/no/such/file.json", "--table", "shop.x", "--lake", Lake()});
  EXPECT_EQ(missing_file.exit_code, 1);
  EXPECT_THAT(missing_file.err, HasSubstr("/no/such/file.json"));

  Outcome write = Run({"sql", "COPY (SELECT 1) TO '/tmp/x.csv'", "--lake", Lake()});
  EXPECT_EQ(write.exit_code, 1);
  EXPECT_THAT(write.err, HasSubstr("COPY is not allowed"));

  Outcome format = Run({"sql", "SELECT 1", "--format", "xml", "--lake", Lake()});
  EXPECT_NE(format.exit_code, 0);
}

TEST_F(CliTest, TablesDescribeAndEnvironmentLake) {
  Outcome tables = Run({"tables"}, "LOCH_LAKE=" + ShellQuote(Lake()));
  EXPECT_EQ(tables.exit_code, 0) << tables.err;
  EXPECT_THAT(tables.out, HasSubstr("shop.events"));
  Outcome describe = Run({"describe", "shop.events", "--versions", "--files", "--lake", Lake()});
  EXPECT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_THAT(describe.out, HasSubstr("Partition columns:"));
  EXPECT_THAT(describe.out, HasSubstr("day=2026-10-01"));
  EXPECT_THAT(describe.out, HasSubstr("version 1"));
}

TEST_F(CliTest, ViewsAreListedAndDescribedWithTheirSqlAndReads) {
  ASSERT_EQ(Run({"sql", "CREATE DATABASE IF NOT EXISTS cli_views", "--lake", Lake()}).exit_code, 0);
  Outcome create = Run({"sql",
                        "CREATE OR REPLACE VIEW cli_views.purchases AS SELECT event_id FROM "
                        "shop.events WHERE event_type = 'purchase'",
                        "--lake", Lake()});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  Outcome tables = Run({"tables", "--lake", Lake()});
  ASSERT_EQ(tables.exit_code, 0) << tables.err;
  EXPECT_THAT(tables.out, ::testing::ContainsRegex("cli_views.purchases +view"));
  EXPECT_THAT(tables.out, ::testing::ContainsRegex("shop.events +table"));
  Outcome only = Run({"tables", "cli_views", "--lake", Lake()});
  EXPECT_THAT(only.out, HasSubstr("cli_views.purchases"));
  EXPECT_THAT(only.out, ::testing::Not(HasSubstr("shop.events")));

  Outcome describe = Run({"describe", "cli_views.purchases", "--lake", Lake()});
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_THAT(describe.out, HasSubstr("View cli_views.purchases"));
  EXPECT_THAT(describe.out, HasSubstr("reads:          shop.events"));
  EXPECT_THAT(describe.out, HasSubstr("WHERE event_type = 'purchase'"));
  EXPECT_THAT(describe.out, ::testing::ContainsRegex("event_id +BIGINT|event_id +VARCHAR"));
  Outcome files = Run({"describe", "cli_views.purchases", "--files", "--lake", Lake()});
  EXPECT_EQ(files.exit_code, 1);
  EXPECT_THAT(files.err, HasSubstr("is a view"));
  Outcome unknown = Run({"describe", "cli_views.nothing", "--lake", Lake()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("cli_views.nothing"));
}

TEST_F(CliTest, DescribeShowsCommentsAndRenamesInItsHistory) {
  const fs::path orders = *work_ / "orders.csv";
  std::ofstream(orders) << "id,amt\n1,10\n2,20\n";
  ASSERT_EQ(
      Run({"load", orders.string(), "--table", "CLI_Alter.Orders", "--lake", Lake()}).exit_code, 0);
  for (const char* sql : {"COMMENT ON TABLE cli_alter.orders IS 'Orders from the shop'",
                          "COMMENT ON COLUMN cli_alter.orders.id IS 'order number'",
                          "ALTER TABLE cli_alter.orders RENAME COLUMN amt TO amount"}) {
    Outcome done = Run({"sql", sql, "--lake", Lake()});
    ASSERT_EQ(done.exit_code, 0) << sql << ": " << done.err;
  }
  // Names fold to lowercase, as in PostgreSQL.
  Outcome describe = Run({"describe", "Cli_Alter.ORDERS", "--versions", "--lake", Lake()});
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_THAT(describe.out, HasSubstr("comment:        Orders from the shop"));
  EXPECT_THAT(describe.out, ::testing::ContainsRegex("id +BIGINT +-- order number"));
  EXPECT_THAT(describe.out, HasSubstr("# table comment: Orders from the shop"));
  EXPECT_THAT(describe.out, HasSubstr("# id comment: order number"));
  EXPECT_THAT(describe.out, HasSubstr("> amt renamed to amount"));
  EXPECT_THAT(describe.out, ::testing::Not(HasSubstr("- amt")));
  EXPECT_EQ(
      Run({"sql", "SELECT sum(amount) FROM cli_alter.orders", "--format", "csv", "--lake", Lake()})
          .out,
      "sum(amount)\n30\n");

  // Type hints: an id kept as text; a format without a column to apply to is refused.
  Outcome hinted = Run({"load", orders.string(), "--table", "cli_alter.hinted", "--column",
                        "id:VARCHAR", "--lake", Lake()});
  ASSERT_EQ(hinted.exit_code, 0) << hinted.err;
  EXPECT_EQ(Run({"sql", "SELECT typeof(id) AS t FROM cli_alter.hinted LIMIT 1", "--format", "csv",
                 "--lake", Lake()})
                .out,
            "t\nVARCHAR\n");
  Outcome lonely = Run({"load", orders.string(), "--table", "cli_alter.other", "--timestamp-format",
                        "%d.%m.%Y", "--lake", Lake()});
  EXPECT_EQ(lonely.exit_code, 1);
  EXPECT_THAT(lonely.err, HasSubstr("--timestamp-format applies to the columns given as --column"));
}

TEST_F(CliTest, SqlQueriesAreKeptInTheHistoryAndTimed) {
  Outcome timed = Run({"sql", "SELECT 'history marker 7' AS m", "--timing", "--lake", Lake()});
  ASSERT_EQ(timed.exit_code, 0) << timed.err;
  EXPECT_THAT(timed.err, ::testing::ContainsRegex(
                             "time: [0-9.]+ ms = prepare [0-9.]+ \\(check, bind, choose files\\) "
                             "\\+ execute [0-9.]+ \\+ output [0-9.]+ ms; 1 rows"));
  EXPECT_EQ(Run({"sql", "SELECT history_marker_8", "--lake", Lake()}).exit_code, 1);
  Outcome kept =
      Run({"sql",
           "SELECT state, row_count, error IS NOT NULL AS failed FROM loch.query_history "
           "WHERE front_end = 'cli' AND sql LIKE '%history%marker%' ORDER BY submitted",
           "--format", "csv", "--lake", Lake()});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_EQ(kept.out, "state,row_count,failed\nSUCCEEDED,1,false\nFAILED,0,true\n");
}

TEST_F(CliTest, VacuumDeletesTheFilesOfDroppedTablesAfterTheRetention) {
  auto sql = [&](const std::string& text) {
    Outcome outcome = Run({"sql", text, "--lake", Lake()});
    EXPECT_EQ(outcome.exit_code, 0) << text << ": " << outcome.err;
    return outcome;
  };
  auto deals = [&] {
    return Run({"sql", "SELECT count(*), sum(deal_id) FROM shop.deals", "--format", "csv",
                "--lake", Lake()})
        .out;
  };
  const std::string deals_before = deals();
  sql("CREATE DATABASE IF NOT EXISTS scratch");
  sql("CREATE TABLE scratch.big_deals AS SELECT * FROM shop.deals WHERE deal_id % 2 = 0");
  const fs::path files = fs::path(Lake()) / "tables/scratch/big_deals";
  ASSERT_TRUE(fs::exists(files));
  ASSERT_FALSE(fs::is_empty(files));
  sql("DROP TABLE scratch.big_deals");

  Outcome unforced = Run({"vacuum", "--retain", "0s", "--lake", Lake()});
  EXPECT_EQ(unforced.exit_code, 1);
  EXPECT_THAT(unforced.err, HasSubstr("--force"));
  Outcome week = Run({"vacuum", "--lake", Lake()});  // the default retention: a week
  ASSERT_EQ(week.exit_code, 0) << week.err;
  EXPECT_THAT(week.out, HasSubstr("0 file record(s) in 0 table(s) forgotten"));
  Outcome dry = Run({"vacuum", "--retain", "0s", "--force", "--dry-run", "--lake", Lake()});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("Dry run of vacuum of every table"));
  EXPECT_THAT(dry.out, ::testing::ContainsRegex("\\b1 object\\(s\\) would be deleted"));
  EXPECT_FALSE(fs::is_empty(files));

  Outcome vacuum = Run({"vacuum", "--retain", "0s", "--force", "--lake", Lake()});
  ASSERT_EQ(vacuum.exit_code, 0) << vacuum.err;
  EXPECT_THAT(vacuum.out, ::testing::ContainsRegex("\\b1 object\\(s\\) deleted"));
  EXPECT_TRUE(!fs::exists(files) || fs::is_empty(files) ||
              std::none_of(fs::recursive_directory_iterator(files), {},
                           [](const fs::directory_entry& e) { return e.is_regular_file(); }));
  // The loaded tables, whose files no snapshot ever removed, answer as before.
  EXPECT_EQ(deals(), deals_before);
  Outcome unknown = Run({"vacuum", "scratch.nope", "--lake", Lake()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("scratch.nope"));
}

// With a terminal attached (script(1) gives one), long work shows its progress on stderr; without
// one (every other test here), nothing but the answer is printed.
TEST_F(CliTest, LongWorkShowsProgressOnATerminal) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  // Progress lines every 10 ms instead of 250, so that a query of a second shows one for sure.
  const std::string fast_lines = "LOCH_PROGRESS_INTERVAL_MS=10";
  auto on_terminal = [&](const std::vector<std::string>& args) {
    std::string command = ShellQuote(LOCH_BINARY);
    for (const std::string& arg : args) command += " " + ShellQuote(arg);
    return testing_support::RunCommand("script", {"-qec", command, "/dev/null"}, fast_lines);
  };
  const std::string slow =
      "SELECT count(DISTINCT hash(e.event_id, r.i)) AS n FROM shop.events e, range(40) r(i)";
  Outcome query = on_terminal({"sql", slow, "--lake", Lake()});
  ASSERT_EQ(query.exit_code, 0) << query.err;
  EXPECT_THAT(query.out, ::testing::ContainsRegex("query: running, [0-9.]+s \\(reads up to"));
  EXPECT_THAT(query.out, HasSubstr("8000000"));
  Outcome plain = Run({"sql", slow, "--lake", Lake()}, fast_lines);
  EXPECT_THAT(plain.out, HasSubstr("8000000"));
  EXPECT_THAT(plain.out + plain.err, ::testing::Not(HasSubstr("query:")));

  fs::create_directories(fs::path(Lake()) / "landing/clicks");
  std::ofstream(fs::path(Lake()) / "landing/clicks/a.json") << "{\"x\": 1}\n";
  Outcome crawl = on_terminal({"crawl", "landing/", "--database", "landed", "--lake", Lake()});
  EXPECT_THAT(crawl.out, HasSubstr("crawling, 0 of 1 tables"));  // shown while it works
}

TEST_F(CliTest, CsvOutputStreamsEveryRow) {
  Outcome csv =
      Run({"sql", "SELECT event_id FROM shop.events", "--format", "csv", "--lake", Lake()});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  const int64_t lines = std::count(csv.out.begin(), csv.out.end(), '\n');
  EXPECT_EQ(lines, (*expected_)["summary"]["events"].get<int64_t>() + 1);
}

TEST_F(CliTest, InitIsIdempotent) {
  Outcome again = Run({"init", "--lake", Lake()});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, HasSubstr("already exists"));
  EXPECT_EQ(fs::status(Lake() + "/.loch").permissions() & fs::perms::others_all, fs::perms::none);
}

}  // namespace
}  // namespace loch
