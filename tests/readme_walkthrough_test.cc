// The README's walk-through, as a new user would type it, on messy files of every format loch
// reads: CSV (gzip, a header-only file, a bad number, quoted commas, datetimes with and without zones),
// NDJSON (plain and zstd, nested objects whose fields change), a JSON array, and Parquet, in
// partition folders. Every answer is checked against what the test wrote, not against loch.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/ids.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "tests/support/compress.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing_support::CommandOutcome;

class ReadmeWalkthroughTest : public testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(work_);
  }

  // `loch ARGS... --lake LAKE`, from the work folder (relative paths are the README's).
  CommandOutcome Loch(const std::vector<std::string>& args) const {
    std::vector<std::string> shell = {"-c", "cd \"$0\" && exec \"$@\"", work_.string(),
                                      LOCH_BINARY};
    shell.insert(shell.end(), args.begin(), args.end());
    shell.push_back("--lake");
    shell.push_back(Lake());
    return testing_support::RunCommand("sh", shell);
  }
  // The answer of `sql` as CSV, header included; the test fails if the query does.
  std::string Csv(const std::string& sql) const {
    CommandOutcome outcome = Loch({"sql", sql, "--format", "csv"});
    EXPECT_EQ(outcome.exit_code, 0) << sql << "\n" << outcome.err;
    return outcome.out;
  }
  std::string Lake() const { return (work_ / "lake").string(); }

  void Write(const fs::path& relative, const std::string& bytes) const {
    const fs::path path = work_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
  }

  // A Parquet file as DuckDB writes it, made through loch itself in a scratch lake.
  std::string ParquetOf(const std::string& select) const {
    const std::string scratch = (work_ / "scratch").string();
    EXPECT_EQ(testing_support::RunCommand(LOCH_BINARY, {"init", "--lake", scratch}).exit_code, 0);
    const std::string name = "p" + NewRandomId().substr(0, 8);
    CommandOutcome made = testing_support::RunCommand(
        LOCH_BINARY, {"sql", "CREATE TABLE s." + name + " AS " + select, "--lake", scratch});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(scratch) / "tables/s" / name)) {
      if (entry.path().extension() == ".parquet") {
        std::ifstream in(entry.path(), std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
      }
    }
    ADD_FAILURE() << "no Parquet file was written";
    return "";
  }

  TestDir scratch_{"loch-readme"};
  fs::path work_ = scratch_.path();
};

TEST_F(ReadmeWalkthroughTest, EveryExampleWorksOnMessyFilesOfEveryFormat) {
  // exports/orders.csv.gz: 12 orders; one amount is "n/a"; datetimes with Z, an offset, a plain T
  // and a space; a note with a quoted comma; an empty note.
  std::string orders = "order_id,Amount,placed_at,note\n";
  double amount_sum = 0;
  for (int i = 1; i <= 12; ++i) {
    const std::string amount = i == 2 ? "n/a" : fmt::format("{}.25", i);
    if (i != 2) amount_sum += i + 0.25;
    const char* times[] = {"2024-03-01T10:15:00Z", "2024-03-01T12:00:00+02:00",
                           "2024-03-02T09:30:00", "2024-03-02 18:45:10"};
    orders += fmt::format("{},{},{},{}\n", i, amount, times[i % 4],
                          i == 3 ? "\"quoted, with comma\"" : (i == 4 ? "" : "plain"));
  }
  Write("exports/orders.csv.gz", testing_support::GzipText(orders));

  // events/day=.../: five formats, a nested object "u" that loses "tags" and gains "vip" from file
  // to file, a column ("coupon") only some files have, and a header-only CSV.
  Write("events/day=2026-10-01/a.ndjson",
        "{\"event_id\": 1, \"kind\": \"view\", \"ts\": \"2026-10-01T08:00:00Z\", \"price\": 1.5, "
        "\"u\": {\"id\": 7, \"name\": \"ann\", \"tags\": [\"new\"]}}\n"
        "{\"event_id\": 2, \"kind\": \"buy\", \"ts\": \"2026-10-01T08:05:00Z\", \"price\": 2.5, "
        "\"u\": {\"id\": 7, \"name\": \"ann\", \"tags\": []}}\n"
        "{\"event_id\": 3, \"kind\": \"view\", \"ts\": \"2026-10-01T09:00:00+02:00\", \"price\": "
        "null, \"u\": {\"id\": 8, \"name\": \"bob\", \"tags\": [\"a\", \"b\"]}}\n");
  Write("events/day=2026-10-01/b.json.zst",
        testing_support::ZstdText(
            "{\"event_id\": 4, \"kind\": \"buy\", \"ts\": \"2026-10-01T10:00:00Z\", \"price\": 4, "
            "\"u\": {\"id\": 9, \"name\": \"cy\"}}\n"
            "{\"event_id\": 5, \"kind\": \"view\", \"ts\": \"2026-10-01T11:00:00Z\", \"price\": 5, "
            "\"u\": {\"id\": 9, \"name\": \"cy\", \"vip\": true}}\n"));
  Write("events/day=2026-10-02/c.json",
        "[{\"event_id\": 6, \"kind\": \"buy\", \"ts\": \"2026-10-02T07:00:00Z\", \"price\": 6.5, "
        "\"coupon\": \"FALL\", \"u\": {\"id\": 7, \"name\": \"ann\"}},\n"
        " {\"event_id\": 7, \"kind\": \"view\", \"ts\": \"2026-10-02T07:30:00Z\", \"price\": 7, "
        "\"coupon\": null, \"u\": {\"id\": 8, \"name\": \"bob\"}}]\n");
  Write("events/day=2026-10-02/d.csv.gz",
        testing_support::GzipText("event_id,kind,ts,price\n8,buy,2026-10-02 08:00:00,8.5\n"
                                  "9,view,2026-10-02 09:00:00,9\n"));
  Write("events/day=2026-10-03/e.parquet",
        ParquetOf("SELECT * FROM (VALUES (10, 'buy', TIMESTAMP '2026-10-03 10:00:00', 10.25), "
                  "(11, 'view', TIMESTAMP '2026-10-03 11:00:00', 11.0)) v(event_id, kind, ts, "
                  "price)"));
  Write("events/day=2026-10-03/empty.csv", "event_id,kind,ts,price\n");
  Write("new-export.csv", "order_id,Amount,placed_at,note\n13,99.5,2024-03-03T00:00:00Z,late\n");

  // The README's examples, in order.
  CommandOutcome init = Loch({"init"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  CommandOutcome load_orders = Loch({"load", "exports/orders.csv.gz", "--table", "shop.orders"});
  ASSERT_EQ(load_orders.exit_code, 0) << load_orders.err;
  EXPECT_THAT(load_orders.out, HasSubstr("1 of 12 value(s)"));  // the "n/a", reported
  CommandOutcome load_events = Loch({"load", "events/", "--table", "shop.events"});
  ASSERT_EQ(load_events.exit_code, 0) << load_events.err;

  EXPECT_EQ(Csv("SELECT day, count(*) AS n FROM shop.events WHERE day >= DATE '2026-10-02' "
                "GROUP BY day ORDER BY day"),
            "day,n\n2026-10-02,4\n2026-10-03,2\n");
  CommandOutcome versions = Loch({"describe", "shop.events", "--versions"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_THAT(versions.out, HasSubstr("day"));
  const std::string orders_before = Csv("SELECT count(*), round(sum(amount), 2) FROM shop.orders");
  EXPECT_EQ(orders_before, fmt::format("count_star(),\"round(sum(amount), 2)\"\n12,{:.2f}\n",
                                       amount_sum));
  CommandOutcome dry = Loch({"load", "new-export.csv", "--table", "shop.orders", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("Dry run"));
  EXPECT_EQ(Csv("SELECT count(*), round(sum(amount), 2) FROM shop.orders"), orders_before);
  // Loads are idempotent; a new file adds its rows once.
  CommandOutcome again = Loch({"load", "exports/orders.csv.gz", "--table", "shop.orders"});
  EXPECT_THAT(again.out, HasSubstr("Nothing new to load"));
  ASSERT_EQ(Loch({"load", "new-export.csv", "--table", "shop.orders"}).exit_code, 0);
  EXPECT_EQ(Csv("SELECT count(*) FROM shop.orders"), "count_star()\n13\n");

  // Every column of every file reads, typed as the README says.
  EXPECT_EQ(Csv("SELECT typeof(event_id) AS a, typeof(ts) AS b, typeof(price) AS c, typeof(day) "
                "AS d, typeof(u.name) AS e, typeof(coupon) AS f FROM shop.events LIMIT 1"),
            "a,b,c,d,e,f\nBIGINT,TIMESTAMP,DOUBLE,DATE,VARCHAR,VARCHAR\n");
  EXPECT_EQ(Csv("SELECT count(*), count(ts), count(price), count(u), count(coupon), sum(event_id) "
                "FROM shop.events"),
            "count_star(),count(ts),count(price),count(u),count(coupon),sum(event_id)\n"
            "11,11,10,7,1,66\n");
  EXPECT_EQ(Csv("SELECT round(sum(price), 2) AS p FROM shop.events"), "p\n65.25\n");
  EXPECT_EQ(Csv("SELECT event_id, u.name, len(u.tags) AS tags, u.vip FROM shop.events "
                "WHERE u.name IN ('ann', 'cy') ORDER BY event_id"),
            "event_id,name,tags,vip\n1,ann,1,\n2,ann,0,\n4,cy,,\n5,cy,,true\n6,ann,,\n");
  EXPECT_EQ(Csv("SELECT CAST(ts AS VARCHAR) AS ts FROM shop.events WHERE event_id IN (3, 8) "
                "ORDER BY event_id"),
            "ts\n2026-10-01 07:00:00\n2026-10-02 08:00:00\n");
  EXPECT_EQ(Csv("SELECT kind, count(*) AS n FROM shop.events WHERE kind = 'buy' GROUP BY kind"),
            "kind,n\nbuy,5\n");
  // (The file's "Amount" keeps its case; unquoted names find it.)
  EXPECT_EQ(Csv("SELECT order_id, amount AS a, amount_raw AS r FROM shop.orders "
                "WHERE amount IS NULL"),
            "order_id,a,r\n2,,n/a\n");
  EXPECT_EQ(Csv("SELECT order_id, CAST(placed_at AS VARCHAR) AS t, note FROM shop.orders "
                "WHERE order_id <= 4 ORDER BY order_id"),
            "order_id,t,note\n1,2024-03-01 10:00:00,plain\n2,2024-03-02 09:30:00,plain\n"
            "3,2024-03-02 18:45:10,\"quoted, with comma\"\n4,2024-03-01 10:15:00,\n");

  // The same files crawled in the lake make the same table (one schema policy for every path).
  for (const auto& entry : fs::recursive_directory_iterator(work_ / "events")) {
    if (!entry.is_regular_file()) continue;
    const fs::path target = fs::path(Lake()) / "landing" / fs::relative(entry.path(), work_);
    fs::create_directories(target.parent_path());
    fs::copy_file(entry.path(), target);
  }
  CommandOutcome created = Loch({"crawler", "create", "landing", "--prefix", "landing/",
                                 "--database", "crawled", "--schema-change", "update", "--deletes",
                                 "log", "--recrawl", "new"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  CommandOutcome crawl = Loch({"crawler", "run", "landing"});
  ASSERT_EQ(crawl.exit_code, 0) << crawl.err;
  EXPECT_THAT(Loch({"crawler", "describe", "landing"}).out, HasSubstr("SUCCEEDED"));
  const std::string shape =
      "SELECT typeof(event_id), typeof(ts), typeof(price), typeof(day), typeof(u), "
      "typeof(coupon), count(*) OVER () FROM {} LIMIT 1";
  EXPECT_EQ(Csv(fmt::format(fmt::runtime(shape), "crawled.events")),
            Csv(fmt::format(fmt::runtime(shape), "shop.events")));
  EXPECT_EQ(Csv("SELECT round(sum(price), 2) AS p, sum(event_id) AS e FROM crawled.events"),
            "p,e\n65.25,66\n");
  // A source object deleted from the store: under --deletes log, other partitions still answer;
  // a query that needs it names it and the fix, which the README's update command applies.
  fs::remove(fs::path(Lake()) / "landing/events/day=2026-10-01/a.ndjson");
  EXPECT_EQ(Csv("SELECT count(*) FROM crawled.events WHERE day = DATE '2026-10-02'"),
            "count_star()\n4\n");
  CommandOutcome missing = Loch({"sql", "SELECT count(*) FROM crawled.events"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("a.ndjson"));
  EXPECT_THAT(missing.err, HasSubstr("--deletes delete"));
  ASSERT_EQ(Loch({"crawler", "update", "landing", "--deletes", "delete"}).exit_code, 0);
  ASSERT_EQ(Loch({"crawler", "run", "landing"}).exit_code, 0);
  EXPECT_EQ(Csv("SELECT count(*), sum(event_id) FROM crawled.events"),
            "count_star(),sum(event_id)\n8,60\n");

  // Views, comments, renames, drops and vacuum, as the README shows them.
  EXPECT_THAT(Csv("CREATE VIEW shop.buyers AS SELECT u.name AS name, count(*) AS buys FROM "
                  "shop.events WHERE kind = 'buy' GROUP BY ALL"),
              HasSubstr("CREATE VIEW"));
  EXPECT_EQ(Csv("SELECT name, buys FROM shop.buyers WHERE name IS NOT NULL ORDER BY name"),
            "name,buys\nann,2\ncy,1\n");
  Csv("COMMENT ON TABLE shop.orders IS 'One row per order'");
  Csv("ALTER TABLE shop.orders RENAME COLUMN note TO remark");
  EXPECT_EQ(Csv("SELECT remark FROM shop.orders WHERE order_id = 13"), "remark\nlate\n");
  CommandOutcome described = Loch({"describe", "shop.orders"});
  EXPECT_THAT(described.out, HasSubstr("One row per order"));
  CommandOutcome tables = Loch({"tables"});
  EXPECT_THAT(tables.out, ::testing::ContainsRegex("shop.buyers +view"));
  CommandOutcome refused = Loch({"sql", "DROP TABLE shop.events"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("shop.buyers"));
  Csv("DROP TABLE shop.events CASCADE");
  // Vacuum: nothing before the retention; then the dropped table's load copies go (six files,
  // header-only one included) and the crawled sources of crawled.events stay.
  CommandOutcome week = Loch({"vacuum", "--dry-run"});
  ASSERT_EQ(week.exit_code, 0) << week.err;
  EXPECT_THAT(week.out, HasSubstr("\n  0 file record(s) in 0 table(s)"));
  const fs::path copies = fs::path(Lake()) / "raw/shop/events";
  auto files_under = [](const fs::path& root) {
    int n = 0;
    if (!fs::exists(root)) return n;
    for (const auto& entry : fs::recursive_directory_iterator(root)) n += entry.is_regular_file();
    return n;
  };
  EXPECT_EQ(files_under(copies), 6);
  CommandOutcome vacuum = Loch({"vacuum", "--retain", "0s", "--force"});
  ASSERT_EQ(vacuum.exit_code, 0) << vacuum.err;
  EXPECT_THAT(vacuum.out, HasSubstr("\n  6 object(s) deleted"));
  EXPECT_EQ(files_under(copies), 0);
  EXPECT_EQ(files_under(fs::path(Lake()) / "landing/events"), 5);  // a.ndjson was deleted above
  EXPECT_EQ(Csv("SELECT count(*) FROM crawled.events"), "count_star()\n8\n");
}

}  // namespace
}  // namespace loch
