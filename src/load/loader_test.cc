#include "load/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ids.h"
#include "common/test_dir.h"
#include "common/strings.h"
#include "engine/duck.h"
#include "engine/query_test_support.h"
#include "engine/test_lake.h"
#include "fmt/format.h"
#include "load/file_format.h"
#include "storage/local_store.h"
#include "tests/support/compress.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LoaderTest : public testing::Test {
 protected:
  void SetUp() override {
    TestLake lake = OpenTestLake(root_);
    fs::create_directories(inputs_);
    store_ = std::move(lake.store);
    catalog_ = std::move(lake.catalog);
    engine_ = std::move(lake.engine);
    loader_ = std::make_unique<Loader>(*catalog_, *store_, *engine_);
  }

  std::string Input(const std::string& relative, const std::string& content) {
    fs::path path = fs::path(inputs_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  std::string GzipInput(const std::string& relative, const std::string& content) {
    return Input(relative, testing_support::GzipText(content));
  }

  std::string ZstdInput(const std::string& relative, const std::string& content) {
    return Input(relative, testing_support::ZstdText(content));
  }

  absl::StatusOr<LoadResult> Load(std::vector<std::string> inputs, const std::string& table) {
    return loader_->Load(
        admin_, LoadRequest{std::move(inputs), std::move(TableName::Parse(table)).value()});
  }

  std::string Scalar(const std::string& sql) { return FirstCell(*engine_, sql); }

  size_t RawObjects() { return ListAll(*store_, "raw/")->size(); }

  TestDir scratch_{"loch-load"};
  std::string root_ = scratch_ / "lake", inputs_ = scratch_ / "inputs";
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LakeEngine> engine_;
  std::unique_ptr<Loader> loader_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(LoaderTest, LoadsEveryFormatAndCompression) {
  const std::string ndjson = "{\"id\": 1, \"v\": 10}\n{\"id\": 2, \"v\": 20}\n";
  std::vector<std::string> files = {
      Input("a.json", ndjson),
      Input("b.json", "[{\"id\": 3, \"v\": 30}, {\"id\": 4, \"v\": 40}]"),
      GzipInput("c.ndjson.gz", "{\"id\": 5, \"v\": 50}\n"),
      ZstdInput("d.jsonl.zst", "{\"id\": 6, \"v\": 60}\n"),
  };
  auto result = Load(files, "shop.mixed");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 6);
  EXPECT_TRUE(result->created_table);
  EXPECT_EQ(Scalar("SELECT sum(v) FROM shop.mixed"), "210");

  ASSERT_TRUE(Load({Input("o.csv", "order_id,amount\n1,2.5\n2,3.5\n")}, "shop.orders").ok());
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM shop.orders"), "6");
  ASSERT_TRUE(Load({GzipInput("o2.csv.gz", "order_id,amount\n3,4\n")}, "shop.orders").ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.orders"), "3");

  const std::string parquet = inputs_ + "/p.parquet";
  {
    auto db = std::move(duck::Database::OpenInMemory({})).value();
    auto conn = std::move(duck::Connection::Open(db)).value();
    ASSERT_TRUE(
        conn.Execute(fmt::format("COPY (SELECT range AS k FROM range(100)) TO {} (FORMAT parquet)",
                                 QuoteLiteral(parquet)))
            .ok());
  }
  ASSERT_TRUE(Load({parquet}, "shop.numbers").ok());
  EXPECT_EQ(Scalar("SELECT sum(k) FROM shop.numbers"), "4950");
}

TEST_F(LoaderTest, NewColumnsMakeANewSchemaVersion) {
  ASSERT_TRUE(Load({Input("1.json", "{\"id\": 1}\n")}, "shop.t").ok());
  auto second = Load({Input("2.json", "{\"id\": 2.5, \"coupon\": \"X\"}\n")}, "shop.t");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->schema_version, 2);
  EXPECT_EQ(second->schema_change.added, std::vector<std::string>{"coupon VARCHAR"});
  EXPECT_EQ(second->schema_change.widened, std::vector<std::string>{"id: BIGINT -> DOUBLE"});
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.t WHERE coupon IS NULL"), "1");
  EXPECT_EQ(Scalar("SELECT sum(id) FROM shop.t"), "3.5");
  EXPECT_EQ(catalog_->ListSchemas(admin_, {"shop", "t"})->size(), 2u);
}

// A user's folder of whatever they had: every format and compression loch reads, each file with
// some of the columns. One table, every column queryable, each value where it came from.
TEST_F(LoaderTest, AFolderOfMixedFormatsIsOneQueryableTable) {
  Input("mixed/a.csv", "id,name,price\n1,apple,1.5\n2,pear,2.5\n");
  Input("mixed/b.json", "{\"id\": 3, \"name\": \"fig\", \"ts\": \"2024-03-01T10:15:00Z\"}\n");
  Input("mixed/c.json", "[{\"id\": 4, \"price\": 4.25, \"tags\": [\"x\", \"y\"]}]");
  GzipInput("mixed/d.csv.gz", "id,ts\n5,2024-03-02 08:00:00\n");
  ZstdInput("mixed/e.ndjson.zst", "{\"id\": 6, \"name\": \"kiwi\", \"price\": 6}\n");
  {
    auto db = std::move(duck::Database::OpenInMemory({})).value();
    auto conn = std::move(duck::Connection::Open(db)).value();
    ASSERT_TRUE(
        conn.Execute(fmt::format("COPY (SELECT 7::BIGINT AS id, 'plum' AS name, 7.75::DOUBLE "
                                 "AS price) TO {} (FORMAT parquet)",
                                 QuoteLiteral(inputs_ + "/mixed/f.parquet")))
            .ok());
  }
  auto result = Load({inputs_ + "/mixed"}, "shop.mixed");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->files, 6);
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.mixed"), "7");
  EXPECT_EQ(Scalar("SELECT sum(id) FROM shop.mixed"), "28");
  EXPECT_EQ(Scalar("SELECT string_agg(name, ',' ORDER BY id) FROM shop.mixed"),
            "apple,pear,fig,kiwi,plum");
  EXPECT_EQ(Scalar("SELECT sum(price) FROM shop.mixed"), "22");
  EXPECT_EQ(Scalar("SELECT string_agg(CAST(ts AS VARCHAR), ',' ORDER BY id) FROM shop.mixed"),
            "2024-03-01 10:15:00,2024-03-02 08:00:00");
  EXPECT_EQ(Scalar("SELECT typeof(ts) FROM shop.mixed LIMIT 1"), "TIMESTAMP");
  EXPECT_EQ(Scalar("SELECT tags[2] FROM shop.mixed WHERE id = 4"), "y");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.mixed WHERE name IS NULL"), "2");
}

TEST_F(LoaderTest, NestedObjectsKeepTheirFieldsWhenLaterFilesLackSome) {
  ASSERT_TRUE(
      Load({Input("1.json", "{\"u\": {\"id\": 1, \"name\": \"ann\", \"tags\": [\"a\"]}}\n")},
           "shop.n")
          .ok());
  ASSERT_EQ(Scalar("SELECT u.name FROM shop.n"), "ann");
  auto second = Load({Input("2.json", "{\"u\": {\"id\": 2, \"name\": \"bob\"}}\n")}, "shop.n");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->schema_change.widened.empty()) << Join(second->schema_change.widened, ";");
  auto third =
      Load({Input("3.json", "{\"u\": {\"id\": 3.5, \"name\": \"cy\", \"age\": 7}}\n")}, "shop.n");
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_THAT(Join(third->schema_change.widened, ";"), HasSubstr("\"age\" BIGINT"));
  EXPECT_EQ(Scalar("SELECT string_agg(u.name, ',' ORDER BY u.id) FROM shop.n"), "ann,bob,cy");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.n WHERE u.tags IS NULL"), "2");
  EXPECT_EQ(Scalar("SELECT sum(u.id) FROM shop.n"), "6.5");
  EXPECT_EQ(Scalar("SELECT max(u.age) FROM shop.n"), "7");
}

TEST_F(LoaderTest, AFewBadValuesKeepTheColumnTypedAndTheirTextReadable) {
  std::string ndjson, csv = "order_id,amount,device\n";
  for (int i = 1; i <= 200; ++i) {
    const bool dirty = i % 50 == 0;
    ndjson +=
        dirty ? fmt::format("{{\"event_id\": \"E{0}\", \"device\": 7, \"amount\": \"n/a\"}}\n", i)
              : fmt::format("{{\"event_id\": {0}, \"device\": \"{1}\", \"amount\": {0}.5}}\n", i,
                            i % 2 ? "mobile" : "web");
    csv += dirty ? fmt::format("{},two,web\n", i) : fmt::format("{},{},web\n", i, i);
  }
  auto events = Load({Input("events.json", ndjson)}, "shop.events");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_THAT(Join(events->warnings, "\n"), HasSubstr("4 of 200 value(s) in"));
  EXPECT_EQ(Scalar("SELECT typeof(event_id) || ' ' || typeof(amount) || ' ' || typeof(device) "
                   "FROM shop.events LIMIT 1"),
            "BIGINT DOUBLE VARCHAR");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.events WHERE device = 'mobile'"), "100");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.events WHERE device = '7'"), "4");
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM shop.events"), std::to_string(196 * 100 + 98));
  EXPECT_EQ(Scalar("SELECT string_agg(DISTINCT amount_raw, ',') FROM shop.events WHERE amount IS "
                   "NULL"),
            "n/a");
  EXPECT_EQ(
      Scalar("SELECT event_id_raw FROM shop.events WHERE event_id IS NULL ORDER BY 1 LIMIT 1"),
      "E100");

  // A clean file first, then one with a bad value: the column is read from text from then on,
  // and the bad value does not fail every query.
  ASSERT_TRUE(Load({Input("u1.json", "{\"user_id\": 1}\n{\"user_id\": 2}\n")}, "shop.users").ok());
  std::string later;
  for (int id = 3; id <= 12; ++id) later += fmt::format("{{\"user_id\": {}}}\n", id);
  later += "{\"user_id\": \"user-9\"}\n";
  ASSERT_TRUE(Load({Input("u2.json", later)}, "shop.users").ok());
  EXPECT_EQ(Scalar("SELECT sum(user_id) || ' ' || string_agg(user_id_raw, ',') FILTER (WHERE "
                   "user_id IS NULL) FROM shop.users"),
            "78 user-9");

  auto orders = Load({Input("orders.csv", csv)}, "shop.orders");
  ASSERT_TRUE(orders.ok()) << orders.status();
  EXPECT_EQ(Scalar("SELECT typeof(amount) FROM shop.orders LIMIT 1"), "BIGINT");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.orders WHERE amount IS NULL AND amount_raw = 'two'"),
            "4");
  // Strict: a fraction or a leading zero is not silently an integer.
  ASSERT_TRUE(
      Load({Input("more.csv", "order_id,amount,device\n900,1.5,web\n901,007,web\n")}, "shop.orders")
          .ok());
  EXPECT_NE(Scalar("SELECT amount FROM shop.orders WHERE order_id = 900"), "2");
}

TEST_F(LoaderTest, AHeaderOnlyCsvChangesNoColumnType) {
  ASSERT_TRUE(Load({Input("1.csv", "id,amount\n1,10\n2,20\n")}, "shop.h").ok());
  auto header_only = Load({Input("2.csv", "id,amount\n")}, "shop.h");
  ASSERT_TRUE(header_only.ok()) << header_only.status();
  EXPECT_FALSE(header_only->schema_change.changed());
  EXPECT_EQ(
      Scalar("SELECT any_value(typeof(id)) || ' ' || CAST(sum(amount) AS VARCHAR) FROM shop.h"),
      "BIGINT 30");
  // A table made from a header-only file takes its types from the first values.
  ASSERT_TRUE(Load({Input("3.csv", "id,amount\n")}, "shop.later").ok());
  auto typed = Load({Input("4.csv", "id,amount\n5,2.5\n")}, "shop.later");
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_TRUE(typed->schema_change.widened.empty());
  EXPECT_EQ(Scalar("SELECT typeof(id) || ' ' || typeof(amount) FROM shop.later"), "BIGINT DOUBLE");
  // In a table with columns the CSV lacks (from NDJSON), a header-only CSV is never read: it has
  // no rows, and no statistics to say which columns it has (DuckDB refused types for the others).
  ASSERT_TRUE(
      Load({Input("n.json", "{\"id\": 1, \"u\": {\"name\": \"ann\"}}\n")}, "shop.mixed").ok());
  ASSERT_TRUE(Load({Input("c.csv", "id,amount\n2,2.5\n")}, "shop.mixed").ok());
  ASSERT_TRUE(Load({Input("empty.csv", "id\n")}, "shop.mixed").ok());
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(u) || ' ' || sum(amount) FROM shop.mixed"),
            "2 1 2.5");
}

TEST_F(LoaderTest, IsoDatetimesAreTimestampsInEveryFormat) {
  const std::string values[] = {"2024-03-01T10:15:00Z", "2024-03-01T12:15:00+02:00",
                                "2024-03-01T10:15:00", "2024-03-01 10:15:00.000"};
  std::string csv = "id,seen_at\n", ndjson;
  for (int i = 0; i < 4; ++i) {
    csv += fmt::format("{},{}\n", i, values[i]);
    ndjson += fmt::format("{{\"id\": {}, \"seen_at\": \"{}\"}}\n", i, values[i]);
  }
  ASSERT_TRUE(Load({Input("t.csv", csv)}, "shop.csv_times").ok());
  ASSERT_TRUE(Load({Input("t.json", ndjson)}, "shop.json_times").ok());
  for (const char* table : {"shop.csv_times", "shop.json_times"}) {
    EXPECT_EQ(Scalar(fmt::format("SELECT typeof(seen_at) FROM {} LIMIT 1", table)), "TIMESTAMP");
    EXPECT_EQ(Scalar(fmt::format("SELECT count(DISTINCT seen_at) FROM {}", table)), "1") << table;
  }
}

// Found by a hostile review: files arriving in an order that once narrowed a type, made earlier
// values NULL or made the table unqueryable. Each must keep every value readable and right.
class LoaderEvolutionTest : public LoaderTest {
 protected:
  std::string Parquet(const std::string& name, const std::string& select) {
    const std::string path = inputs_ + "/" + name;
    auto db = std::move(duck::Database::OpenInMemory({})).value();
    auto conn = std::move(duck::Connection::Open(db)).value();
    EXPECT_TRUE(conn.Execute("SET TimeZone = 'UTC'").ok());
    EXPECT_TRUE(
        conn.Execute(fmt::format("COPY ({}) TO {} (FORMAT parquet)", select, QuoteLiteral(path)))
            .ok());
    return path;
  }
};

TEST_F(LoaderEvolutionTest, ATimestampNeverNarrowsToADate) {
  ASSERT_TRUE(Load({Parquet("a.parquet", "SELECT 1 AS id, TIMESTAMP '2024-01-02 10:30:00' AS ts")},
                   "shop.t")
                  .ok());
  ASSERT_TRUE(Load({Input("b.csv", "id,ts\n2,01/05/2024\n3,01/06/2024\n")}, "shop.t").ok());
  EXPECT_EQ(Scalar("SELECT typeof(ts) || ' ' || CAST(ts AS VARCHAR) FROM shop.t WHERE id = 1"),
            "TIMESTAMP 2024-01-02 10:30:00");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.t WHERE ts > '2024-01-02' AND id = 1"), "1");
  EXPECT_EQ(Scalar("SELECT CAST(ts AS VARCHAR) FROM shop.t WHERE id = 3"), "2024-01-06 00:00:00");
}

TEST_F(LoaderEvolutionTest, BooleansDuckDbReadStayBooleans) {
  ASSERT_TRUE(Load({Input("b1.csv", "id,v\n1,t\n2,f\n")}, "shop.b").ok());
  std::string later = "id,v\n";
  for (int i = 3; i < 12; ++i) later += fmt::format("{},true\n", i);
  later += "12,maybe\n";
  ASSERT_TRUE(Load({Input("b2.csv", later)}, "shop.b").ok());
  EXPECT_EQ(Scalar("SELECT string_agg(CAST(v AS VARCHAR), ',' ORDER BY id) FROM shop.b WHERE id "
                   "<= 3"),
            "true,false,true");
  EXPECT_EQ(Scalar("SELECT v_raw FROM shop.b WHERE v IS NULL"), "maybe");
}

TEST_F(LoaderEvolutionTest, TextDatetimesStayReadableInAZonedColumn) {
  ASSERT_TRUE(Load({Input("b.csv", "id,ts\n1,01/05/2024\n2,01/06/2024\n")}, "shop.z").ok());
  ASSERT_TRUE(
      Load({Parquet("z.parquet", "SELECT 3 AS id, TIMESTAMPTZ '2024-01-07 10:00:00+00' AS ts")},
           "shop.z")
          .ok());
  EXPECT_EQ(Scalar("SELECT count(ts) FROM shop.z"), "3");
  EXPECT_EQ(Scalar("SELECT CAST(ts AS VARCHAR) FROM shop.z WHERE id = 1"),
            "2024-01-05 00:00:00+00");
}

TEST_F(LoaderEvolutionTest, LenientNumbersWidenToDecimalAndStayQueryable) {
  std::string csv = "id,v\n";
  for (int i = 1; i <= 10; ++i)
    csv += fmt::format("{},{}\n", i, i == 10 ? "oops" : std::to_string(i));
  ASSERT_TRUE(Load({Input("a.csv", csv)}, "shop.d").ok());
  ASSERT_TRUE(
      Load({Parquet("d.parquet", "SELECT 11 AS id, CAST(2.25 AS DECIMAL(4,2)) AS v")}, "shop.d")
          .ok());
  EXPECT_EQ(Scalar("SELECT CAST(sum(v) AS VARCHAR) FROM shop.d"), "47.25");
  EXPECT_EQ(Scalar("SELECT v_raw FROM shop.d WHERE v IS NULL"), "oops");
}

// A struct cannot hold fields "a" and "A" (DuckDB ignores their case, its JSON reader does not):
// the objects stay whole, as JSON, rather than one file's values reading as NULL.
TEST_F(LoaderEvolutionTest, StructFieldsDifferingOnlyInCaseKeepTheirValues) {
  ASSERT_TRUE(Load({Input("1.json", "{\"id\": 1, \"s\": {\"a\": 1}}\n")}, "shop.s").ok());
  ASSERT_TRUE(Load({Input("2.json", "{\"id\": 2, \"s\": {\"A\": \"x\"}}\n")}, "shop.s").ok());
  EXPECT_EQ(Scalar("SELECT any_value(typeof(s)) || ' ' || string_agg(CAST(s AS VARCHAR), ',' "
                   "ORDER BY id) FROM shop.s"),
            "JSON {\"a\":1},{\"A\":\"x\"}");
}

TEST_F(LoaderEvolutionTest, DatetimesDoNotDependOnTheMachinesTimeZone) {
  ::setenv("TZ", "America/New_York", 1);
  ::tzset();
  TearDown();
  SetUp();  // a new engine, opened in that zone
  ASSERT_TRUE(Load({Parquet("p.parquet", "SELECT 1 AS id, TIMESTAMP '2024-03-10 02:30:00' AS ts")},
                   "shop.tz")
                  .ok());
  ASSERT_TRUE(
      Load({Input("t.csv", "id,ts\n2,2024-03-10T07:30:00Z\n3,03/10/2024 02:30:00\n")}, "shop.tz")
          .ok());
  EXPECT_EQ(Scalar("SELECT string_agg(CAST(ts AS VARCHAR), ',' ORDER BY id) FROM shop.tz"),
            "2024-03-10 02:30:00,2024-03-10 07:30:00,2024-03-10 02:30:00");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.tz WHERE ts = TIMESTAMP '2024-03-10 02:30:00'"), "2");
}

// Found by a hostile review: a raw companion took the name of a column the files have, and the
// file's own values were lost.
TEST_F(LoaderEvolutionTest, ARawCompanionNeverTakesAColumnOfTheFiles) {
  std::string dirty = "id,v\n";
  for (int i = 1; i <= 10; ++i)
    dirty += fmt::format("{},{}\n", i, i == 10 ? "oops" : std::to_string(i));
  ASSERT_TRUE(Load({Input("1.csv", dirty)}, "shop.r").ok());
  ASSERT_EQ(Scalar("SELECT v_raw FROM shop.r WHERE v IS NULL"), "oops");
  // A later file has a real column named like the companion: its values stay its own, and the
  // companion moves aside.
  auto later = Load({Input("2.csv", "id,v,v_raw\n11,11,mine\n")}, "shop.r");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_THAT(Join(later->schema_change.renamed, ","), HasSubstr("v_raw -> v_raw_text"));
  EXPECT_EQ(Scalar("SELECT v_raw FROM shop.r WHERE id = 11"), "mine");
  EXPECT_EQ(Scalar("SELECT v_raw_text FROM shop.r WHERE v IS NULL"), "oops");
  // A file that has both the column and its would-be companion.
  ASSERT_TRUE(Load({Input("3.csv", "id,w,w_raw\n" + std::string("1,1,a\n2,2,b\n3,3,c\n4,4,d\n") +
                                       "5,5,e\n6,6,f\n7,7,g\n8,8,h\n9,9,i\n10,ten,j\n")},
                   "shop.both")
                  .ok());
  EXPECT_EQ(Scalar("SELECT w_raw || ' ' || w_raw_text FROM shop.both WHERE w IS NULL"), "j ten");
  // A partition folder named like the companion.
  Input("part/v_raw=7/a.csv", dirty);
  ASSERT_TRUE(Load({inputs_ + "/part"}, "shop.p").ok());
  EXPECT_EQ(
      Scalar("SELECT CAST(v_raw AS VARCHAR) || ' ' || v_raw_text FROM shop.p WHERE v IS NULL"),
      "7 oops");
}

// Found by a hostile review: dates written day first (31/12/2024) were read month first.
TEST_F(LoaderEvolutionTest, DayFirstDatesReadDayFirst) {
  ASSERT_TRUE(
      Load({Input("d.csv", "id,day\n1,05/03/2024\n2,31/12/2024\n3,13/01/2024\n")}, "shop.dayfirst")
          .ok());
  EXPECT_EQ(Scalar("SELECT string_agg(CAST(day AS VARCHAR), ',' ORDER BY id) FROM shop.dayfirst"),
            "2024-03-05,2024-12-31,2024-01-13");
  // All ambiguous: month first, as US data (and the load says so).
  auto us = Load({Input("u.csv", "id,day\n1,05/03/2024\n2,01/02/2024\n")}, "shop.us");
  ASSERT_TRUE(us.ok()) << us.status();
  EXPECT_THAT(Join(us->typed_text, ","), HasSubstr("MM/dd/yyyy"));
  // One report line per column, however many files added formats to it.
  auto two = Load(
      {Input("t1.csv", "id,seen\n1,Jun 12 1998\n"), Input("t2.csv", "id,seen\n2,1998-06-13\n")},
      "shop.two_formats");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(std::count_if(two->typed_text.begin(), two->typed_text.end(),
                          [](const std::string& line) { return line.starts_with("seen:"); }),
            1)
      << Join(two->typed_text, " | ");
  EXPECT_EQ(Scalar("SELECT CAST(day AS VARCHAR) FROM shop.us WHERE id = 1"), "2024-05-03");
  // A later day-first file never makes the table read its dates in two orders: its values that
  // the table's order cannot read are NULL with their text kept, and it says so.
  auto later = Load({Input("l.csv", "id,day\n3,25/12/2024\n4,26/12/2024\n")}, "shop.us");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_THAT(Join(later->warnings, "\n"), HasSubstr("day_raw"));
  EXPECT_EQ(Scalar("SELECT CAST(day AS VARCHAR) FROM shop.us WHERE id = 1"), "2024-05-03");
  EXPECT_EQ(Scalar("SELECT day_raw FROM shop.us WHERE id = 3 AND day IS NULL"), "25/12/2024");
  EXPECT_THAT(Join(later->warnings, "\n"), HasSubstr("writes its dates as day-first date"));
  // Files loaded together: the order their values show as a whole, whatever the files' order
  // (found by a hostile review: the first file's guess won).
  const std::string ambiguous = Input("a.csv", "id,day\n1,05/03/2024\n2,01/02/2024\n");
  const std::string day_first = Input("z.csv", "id,day\n3,31/12/2024\n4,13/01/2024\n");
  for (const char* table : {"shop.order1", "shop.order2"}) {
    std::vector<std::string> files = {ambiguous, day_first};
    if (std::string(table) == "shop.order2") std::swap(files[0], files[1]);
    ASSERT_TRUE(Load(files, table).ok());
    EXPECT_EQ(Scalar(fmt::format("SELECT string_agg(CAST(day AS VARCHAR), ',' ORDER BY id) FROM {}",
                                 table)),
              "2024-03-05,2024-02-01,2024-12-31,2024-01-13")
        << table;
  }
}

// Found by a hostile review: a list of mixed values ([1, "x"]) was taken for an empty list, and
// a table with it and a list of numbers failed every query.
TEST_F(LoaderEvolutionTest, ListsOfMixedValuesStayReadable) {
  ASSERT_TRUE(Load({Input("1.json", "{\"id\": 1, \"l\": [1, 2], \"s\": {\"t\": [3], \"u\": 1}}\n")},
                   "shop.lists")
                  .ok());
  auto mixed = Load({Input("2.json",
                           "{\"id\": 2, \"l\": [1, \"x\"], \"s\": {\"t\": [4, {\"a\": 1}], "
                           "\"u\": 2}}\n{\"id\": 3, \"l\": [], \"s\": {\"t\": [], \"u\": "
                           "3}}\n")},
                    "shop.lists");
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(Scalar("SELECT string_agg(CAST(l AS VARCHAR), ' ' ORDER BY id) FROM shop.lists"),
            "[1,2] [1,\"x\"] []");
  EXPECT_EQ(Scalar("SELECT CAST(s.t AS VARCHAR) || ' ' || CAST(s.u AS VARCHAR) FROM shop.lists "
                   "WHERE id = 2"),
            "[4,{\"a\":1}] 2");
  // Lists of mixed lists too (found by the same review).
  ASSERT_TRUE(Load({Input("5.json", "{\"id\": 1, \"m\": [[1, \"y\"]]}\n"),
                    Input("6.json", "{\"id\": 2, \"m\": [[5]]}\n")},
                   "shop.nested")
                  .ok());
  EXPECT_EQ(Scalar("SELECT string_agg(CAST(m AS VARCHAR), ' ' ORDER BY id) FROM shop.nested"),
            "[[1,\"y\"]] [[5]]");
  // Empty lists alone still take the type of the values that come later.
  ASSERT_TRUE(Load({Input("3.json", "{\"id\": 1, \"e\": []}\n")}, "shop.empty").ok());
  ASSERT_TRUE(Load({Input("4.json", "{\"id\": 2, \"e\": [5, 6]}\n")}, "shop.empty").ok());
  EXPECT_EQ(Scalar("SELECT typeof(e) || ' ' || CAST(list_sum(e) AS VARCHAR) FROM shop.empty "
                   "WHERE id = 2"),
            "BIGINT[] 11");
}

// Found by a hostile review: profiling took time growing with the square of a file's text columns
// (1000 columns: 107 s) and DuckDB crashed the process (SIGFPE) on a file of 2000. Measured over
// many aggregate queries, every column's statistics and typing must still be right.
TEST_F(LoaderEvolutionTest, WideFilesAreTypedAndMeasuredAndTooWideOnesRefused) {
  constexpr int kColumns = 900;
  std::string header = "id", row1 = "1", row2 = "2";
  for (int c = 0; c < kColumns; ++c) {
    header += fmt::format(",c{}", c);
    row1 += c % 3 == 0 ? fmt::format(",2024-01-{:02}", c % 28 + 1) : fmt::format(",{}", c);
    row2 += c % 3 == 0 ? ",2024-02-01" : c % 3 == 1 ? fmt::format(",{}", -c) : ",text";
  }
  auto wide = Load({Input("wide.csv", header + "\n" + row1 + "\n" + row2 + "\n")}, "shop.wide");
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_EQ(Scalar("SELECT typeof(c897) || ' ' || typeof(c898) || ' ' || typeof(c899) FROM "
                   "shop.wide LIMIT 1"),
            "DATE BIGINT VARCHAR");
  auto snapshot = catalog_->ReadTable(admin_, TableName{"shop", "wide"}, std::nullopt);
  ASSERT_TRUE(snapshot.ok());
  const DataFile& file = snapshot->files.at(0);
  auto stats = std::find_if(file.stats.begin(), file.stats.end(),
                            [](const ColumnStats& s) { return s.column == "c898"; });
  ASSERT_NE(stats, file.stats.end());
  EXPECT_EQ(stats->min.value_or("") + " " + stats->max.value_or(""), "-898 898");

  std::string too_wide = "c0";
  for (int c = 1; c <= static_cast<int>(FileProfile::kMaxColumns); ++c)
    too_wide += fmt::format(",c{}", c);
  auto refused = Load({Input("too_wide.csv", too_wide + "\n" + too_wide + "\n")}, "shop.too_wide");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("reads files of at most 4096"));
}

TEST_F(LoaderTest, LoadingTheSameContentTwiceAddsItsRowsOnce) {
  const std::string a = Input("a.csv", "id,v\n1,10\n2,20\n");
  const std::string copy = Input("copy/a.csv", "id,v\n1,10\n2,20\n");
  auto first = Load({a, copy}, "shop.once");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->files, 1);
  EXPECT_EQ(first->duplicates, 1);
  EXPECT_THAT(Join(first->skipped, "\n"), HasSubstr("the same content as"));
  const size_t objects = RawObjects();
  for (int again = 0; again < 3; ++again) {
    auto repeated = Load({a}, "shop.once");
    ASSERT_TRUE(repeated.ok()) << repeated.status();
    EXPECT_EQ(repeated->files, 0);
    EXPECT_THAT(Join(repeated->skipped, "\n"), HasSubstr("--allow-duplicates"));
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.once"), "2");
  EXPECT_EQ(RawObjects(), objects);
  // New files among old ones: only the new are added.
  auto mixed = Load({a, Input("b.csv", "id,v\n3,30\n")}, "shop.once");
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(mixed->files, 1);
  EXPECT_EQ(Scalar("SELECT sum(v) FROM shop.once"), "60");
  // The same bytes in another partition are other rows (found by a hostile review: they were
  // skipped, and a day's data lost).
  Input("parts/day=2024-01-01/s.csv", "store,sales\n1,0\n");
  Input("parts/day=2024-01-02/s.csv", "store,sales\n1,0\n");
  ASSERT_TRUE(Load({inputs_ + "/parts"}, "shop.days").ok());
  Input("later/day=2024-01-03/s.csv", "store,sales\n1,0\n");
  ASSERT_TRUE(Load({inputs_ + "/later"}, "shop.days").ok());
  EXPECT_EQ(Scalar("SELECT count(DISTINCT day) || ' ' || count(*) FROM shop.days"), "3 3");
  // Asked for, duplicates load.
  LoadRequest forced{{a}, std::move(TableName::Parse("shop.once")).value()};
  forced.allow_duplicates = true;
  ASSERT_TRUE(loader_->Load(admin_, forced).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.once"), "5");
}

TEST_F(LoaderTest, ConcurrentLoadsOfTheSameFileAddItOnce) {
  ASSERT_TRUE(Load({Input("seed.csv", "id\n0\n")}, "shop.race").ok());
  const std::string file = Input("same.csv", "id\n1\n2\n3\n");
  std::vector<std::thread> loads;
  for (int i = 0; i < 4; ++i)
    loads.emplace_back([&] { EXPECT_TRUE(Load({file}, "shop.race").ok()); });
  for (std::thread& load : loads) load.join();
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.race"), "4");
}

TEST_F(LoaderTest, ADryRunSaysWhatALoadWouldDoAndChangesNothing) {
  ASSERT_TRUE(Load({Input("1.csv", "id,v\n1,10\n")}, "shop.dry").ok());
  const size_t objects = RawObjects();
  LoadRequest request{{Input("2.csv", "id,v,w\n2,2.5,x\n")},
                      std::move(TableName::Parse("shop.dry")).value()};
  request.dry_run = true;
  auto dry = loader_->Load(admin_, request);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_TRUE(dry->dry_run);
  EXPECT_EQ(dry->rows, 1);
  EXPECT_EQ(Join(dry->schema_change.added, ","), "w VARCHAR");
  EXPECT_EQ(Join(dry->schema_change.widened, ","), "v: BIGINT -> DOUBLE");
  ASSERT_NE(dry->schema.Find("v"), nullptr);
  EXPECT_EQ(dry->schema.Find("v")->type, "DOUBLE");
  EXPECT_EQ(RawObjects(), objects);
  EXPECT_EQ(Scalar("SELECT typeof(v) || ' ' || CAST(count(*) OVER () AS VARCHAR) FROM shop.dry"),
            "BIGINT 1");
  request.table = std::move(TableName::Parse("shop.never")).value();
  ASSERT_TRUE(loader_->Load(admin_, request).ok());
  EXPECT_FALSE(catalog_->ReadTable(admin_, request.table, std::nullopt).ok());
}

TEST_F(LoaderTest, PartitionFoldersBecomeTypedPartitionColumns) {
  Input("events/day=2026-10-01/e.json", "{\"x\": 1}\n");
  Input("events/day=2026-10-02/e.json", "{\"x\": 2}\n{\"x\": 3}\n");
  Input("events/_SUCCESS", "");
  auto result = Load({inputs_ + "/events"}, "shop.events");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->partition_columns, std::vector<std::string>{"day"});
  auto table = catalog_->ReadTable(admin_, {"shop", "events"}, std::nullopt);
  ASSERT_EQ(table->table.schema.partition_columns.size(), 1u);
  EXPECT_EQ(table->table.schema.partition_columns[0].type, "DATE");
  EXPECT_EQ(table->files[1].partition_values.at("day"), "2026-10-02");
  EXPECT_EQ(Scalar("SELECT sum(x) FROM shop.events WHERE day = DATE '2026-10-02'"), "5");

  auto mismatch = Load({Input("flat.json", "{\"x\": 9}\n")}, "shop.events");
  ASSERT_TRUE(absl::IsInvalidArgument(mismatch.status()));
  EXPECT_THAT(std::string(ToStd(mismatch.status().message())), HasSubstr("partitioned by (day)"));
}

TEST_F(LoaderTest, BadInputFailsClearlyAndLeavesNothingBehind) {
  ASSERT_TRUE(Load({Input("good.json", "{\"a\": 1}\n")}, "shop.t").ok());
  const size_t objects = RawObjects();
  const int64_t snapshot =
      catalog_->ReadTable(admin_, {"shop", "t"}, std::nullopt)->table.current_snapshot;

  struct Case {
    std::vector<std::string> inputs;
    std::string message;
  };
  std::vector<Case> cases = {
      {{inputs_ + "/missing.json"}, "no such file"},
      {{Input("notes.txt", "hello")}, "cannot tell the format"},
      {{Input("fake.json.gz", "{\"a\": 1}")}, "gzip"},
      {{Input("fake.parquet", "not parquet at all")}, "Parquet"},
      {{Input("ok.json", "{\"a\": 2}\n"), Input("broken.json", "{\"a\": 1\n{{{ nope\n")},
       "broken.json"},
      {{Input("empty.json", "")}, "nothing to load"},
      // An unquoted separator in a value: DuckDB reads such a file as one column "a,b".
      {{Input("ragged.csv", "a,b\n1,2\n3,4,5\n6,7\n")},
       "ragged.csv\" as csv: CSV rows do not all have the header's 2 fields separated by ','"
       " (CSV Error on Line: 3; Original Line: 3,4,5; Expected Number of Columns: 2 Found: 3)"},
  };
  for (const Case& c : cases) {
    auto result = Load(c.inputs, "shop.t");
    ASSERT_FALSE(result.ok()) << c.inputs.back() << " loaded into " << Scalar("DESCRIBE shop.t");
    EXPECT_THAT(std::string(ToStd(result.status().message())), HasSubstr(c.message));
  }
  EXPECT_EQ(RawObjects(), objects);
  EXPECT_EQ(catalog_->ReadTable(admin_, {"shop", "t"}, std::nullopt)->table.current_snapshot,
            snapshot);
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.t"), "1");
}

TEST_F(LoaderTest, ConcurrentLoadsIntoOneTableAllLand) {
  constexpr int kLoads = 6;
  std::vector<std::string> files;
  for (int i = 0; i < kLoads; ++i)
    files.push_back(Input(fmt::format("c{}.json", i), fmt::format("{{\"n\": {}}}\n", i)));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kLoads; ++i) {
    threads.emplace_back([&, i] {
      if (!Load({files[i]}, "shop.c").ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.c"), std::to_string(kLoads));
}

TEST(FileFormat, NamesAndContentMustAgree) {
  const TestDir scratch("loch-load-format");
  const std::string& dir = scratch.path();
  std::ofstream(dir + "/x.tsv") << "a\tb\n1\t2\n";
  EXPECT_EQ(DetectFileFormat(dir + "/x.tsv")->format, "csv");
  std::ofstream(dir + "/y.json") << "\x1f\x8b garbage";
  auto mislabelled = DetectFileFormat(dir + "/y.json");
  ASSERT_FALSE(mislabelled.ok());
  EXPECT_THAT(std::string(ToStd(mislabelled.status().message())), HasSubstr("add .gz"));
}

TEST_F(LoaderTest, RenamedColumnsReadTheirEarlierFilesAndLaterLoadsUnderTheOldName) {
  ASSERT_TRUE(Load({Input("a.csv", "id,amt,note\n1,10,a\n2,20,b\n"),
                    Input("b.json", "{\"id\": 3, \"amt\": 30, \"note\": \"c\"}\n")},
                   "shop.o")
                  .ok());
  EXPECT_EQ(Scalar("ALTER TABLE shop.o RENAME COLUMN amt TO Amount"), "ALTER TABLE");
  auto table = catalog_->ReadTable(admin_, {"shop", "o"}, std::nullopt);
  ASSERT_TRUE(table.ok());
  ASSERT_NE(table->table.schema.Find("amount"), nullptr);  // unquoted names fold to lowercase
  EXPECT_EQ(table->table.schema.Find("amt"), nullptr);
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM shop.o"), "60");
  EXPECT_THAT(Scalar("SELECT amt FROM shop.o"), HasSubstr("amt"));  // the old name is gone
  // Pruning reads the files' statistics under the names they have: answers equal unpruned ones.
  for (const char* bound : {"> 25", "< 15", "BETWEEN 15 AND 25", "> 100"}) {
    EXPECT_EQ(Scalar(fmt::format("SELECT count(*) FROM shop.o WHERE amount {}", bound)),
              Scalar(fmt::format("SELECT count(*) FROM shop.o WHERE amount + 0 {}", bound)))
        << bound;
  }

  // A later file that still says amt loads into amount, not into a new amt column; a bad value
  // keeps its text in the companion.
  auto later = Load({Input("c.csv",
                           "id,amt,note\n4,40,d\n5,oops,e\n6,60,f\n7,70,g\n8,80,h\n"
                           "9,90,i\n10,100,j\n11,110,k\n12,120,l\n13,130,m\n14,140,n\n")},
                    "shop.o");
  ASSERT_TRUE(later.ok()) << later.status();
  table = catalog_->ReadTable(admin_, {"shop", "o"}, std::nullopt);
  EXPECT_EQ(table->table.schema.Find("amt"), nullptr);
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM shop.o"), "1000");
  EXPECT_EQ(Scalar("SELECT amount_raw FROM shop.o WHERE amount IS NULL"), "oops");
  // Written by loch after the rename: the new name.
  EXPECT_EQ(Scalar("INSERT INTO shop.o SELECT 15, 150, 'o', NULL"), "INSERT");
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM shop.o"), "1150");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.o WHERE amount >= 140"), "2");

  // Renamed again (back, even): every file still reads.
  EXPECT_EQ(Scalar("ALTER TABLE shop.o RENAME amount TO amt"), "ALTER TABLE");
  EXPECT_EQ(Scalar("SELECT sum(amt) FROM shop.o"), "1150");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.o WHERE amt < 15"), "1");
  EXPECT_EQ(Scalar("ALTER TABLE shop.o RENAME COLUMN amount_raw TO amt_text"), "ALTER TABLE");
  EXPECT_EQ(Scalar("SELECT amt_text FROM shop.o WHERE amt IS NULL"), "oops");

  // A file with a column under both its name and a former one (a field that came back meaning
  // something else) cannot be told apart: refused, naming both.
  auto both = Load({Input("both.csv", "id,amt,amount,note\n16,1,2,p\n")}, "shop.o");
  EXPECT_THAT(std::string(both.status().message()),
              HasSubstr("it has columns amt and amount, but amt was named amount before a rename"));
  EXPECT_EQ(Scalar("SELECT sum(amt) FROM shop.o"), "1150");

  // What cannot be renamed says why.
  EXPECT_THAT(Scalar("ALTER TABLE shop.o RENAME COLUMN note TO id"), HasSubstr("already has"));
  EXPECT_THAT(Scalar("ALTER TABLE shop.o RENAME COLUMN note TO ID"), HasSubstr("already has"));
  EXPECT_THAT(Scalar("ALTER TABLE shop.o RENAME COLUMN nte TO x"), HasSubstr("did you mean note"));
  EXPECT_THAT(Scalar("ALTER TABLE shop.o RENAME COLUMN note TO amount"),
              HasSubstr("was the name of column amt"));
  Input("p/day=2024-01-01/x.json", "{\"v\": 1}\n");
  ASSERT_TRUE(Load({inputs_ + "/p"}, "shop.p").ok());
  EXPECT_THAT(Scalar("ALTER TABLE shop.p RENAME COLUMN day TO d"),
              HasSubstr("day is a partition column"));
  EXPECT_THAT(Scalar("ALTER TABLE shop.nope RENAME COLUMN a TO b"), HasSubstr("unknown table"));
  EXPECT_EQ(Scalar("ALTER TABLE IF EXISTS shop.nope RENAME COLUMN a TO b"), "ALTER TABLE");
}

// Column names ignore case (DuckDB names a second key "A" beside "a" A_1), but JSON keys are read
// as spelled: such a column read NULL where the data said 2, and a table that got both spellings
// from two files could not be queried at all. Both are refused, naming the keys; the table keeps
// answering.
TEST_F(LoaderTest, KeysThatDifferOnlyInCaseAreRefusedNotReadAsNull) {
  for (const std::string& records :
       {std::string(R"({"a": 1, "A": 2})"), std::string("{\"a\": 1}\n{\"A\": 2}\n"),
        std::string(R"([{"a": 1}, {"A": 2}])")}) {
    auto refused = Load({Input("both.json", records)}, "shop.cased");
    ASSERT_FALSE(refused.ok()) << records;
    EXPECT_THAT(std::string(refused.status().message()),
                HasSubstr(R"(keys "A" and "a" differ only in case)"));
  }
  // A key spelled like DuckDB's renaming is a key like any other.
  ASSERT_TRUE(Load({Input("suffix.json", R"({"a": 1, "a_1": 5})")}, "shop.cased").ok());
  EXPECT_EQ(Scalar("SELECT a || ',' || a_1 FROM shop.cased"), "1,5");

  auto other_file = Load({Input("upper.json", R"({"A": 7, "a_1": 8})")}, "shop.cased");
  ASSERT_FALSE(other_file.ok());
  EXPECT_THAT(std::string(other_file.status().message()),
              HasSubstr(R"(it has column "A", but the table reads "a")"));
  auto other_csv = Load({Input("upper.csv", "A,a_1\n7,8\n")}, "shop.cased");
  ASSERT_FALSE(other_csv.ok());
  EXPECT_EQ(Scalar("SELECT count(*) || ',' || sum(a) FROM shop.cased"), "1,1");

  // A partition folder of another case wins over the file's column, as over a same-named one.
  Input("parts/day=2024-01-01/x.json", R"({"v": 1, "DAY": "not the folder"})");
  ASSERT_TRUE(Load({inputs_ + "/parts"}, "shop.parts").ok());
  EXPECT_EQ(Scalar("SELECT CAST(day AS VARCHAR) || ',' || v FROM shop.parts"), "2024-01-01,1");
}

TEST_F(LoaderTest, ColumnHintsOverrideInferenceAndStayForLaterLoads) {
  auto hint = [](const std::string& text, std::vector<std::string> formats = {}) {
    ColumnHint parsed = std::move(ParseColumnHint(text)).value();
    parsed.formats = std::move(formats);
    return parsed;
  };
  LoadRequest request{{Input("a.csv",
                             "zip,amount,seen\n01234,10,01.03.2024 10:15\n"
                             "00501,n/a,02.03.2024 11:00\n90210,30.5,bad\n")},
                      {"shop", "addr"}};
  request.column_hints = {hint("zip:text"), hint("amount:decimal(10, 2)"),
                          hint("seen:TIMESTAMP", {"%d.%m.%Y %H:%M"})};
  auto loaded = loader_->Load(admin_, request);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Scalar("SELECT string_agg(zip, ',' ORDER BY zip) FROM shop.addr"), "00501,01234,90210");
  EXPECT_EQ(Scalar("SELECT any_value(typeof(amount)) || ' ' || sum(amount) FROM shop.addr"),
            "DECIMAL(10,2) 40.50");
  EXPECT_EQ(Scalar("SELECT amount_raw FROM shop.addr WHERE amount IS NULL"), "n/a");
  EXPECT_EQ(Scalar("SELECT max(seen) FROM shop.addr"), "2024-03-02 11:00:00");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.addr WHERE seen >= TIMESTAMP '2024-03-02'"), "1");
  EXPECT_THAT(Join(loaded->warnings, "\n"),
              HasSubstr("shop.addr.amount: 1 of 3 value(s) in the table do not read as "
                        "DECIMAL(10,2) (--column)"));
  EXPECT_THAT(Join(loaded->warnings, "\n"), HasSubstr("shop.addr.seen: 1 of 3"));

  // A later load without hints types the columns the same way.
  ASSERT_TRUE(
      Load({Input("b.csv", "zip,amount,seen\n10001,5,03.03.2024 09:00\n")}, "shop.addr").ok());
  EXPECT_EQ(Scalar("SELECT string_agg(zip, ',' ORDER BY zip) FROM shop.addr WHERE zip > '1'"),
            "10001,90210");
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM shop.addr"), "45.50");
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.addr WHERE seen < TIMESTAMP '2024-03-03'"), "2");

  // Mistakes are named before anything is copied.
  const size_t objects = RawObjects();
  request.inputs = {Input("c.csv", "zip,amount,seen\n1,2,3\n")};
  request.column_hints = {hint("zp:VARCHAR")};
  auto unknown = loader_->Load(admin_, request);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("--column zp: the files have no column \"zp\" (did you mean zip?)"));
  request.column_hints = {hint("seen:TIMESTAMP", {"%d.%m.%Y %Q"})};
  auto bad_format = loader_->Load(admin_, request);
  EXPECT_THAT(std::string(bad_format.status().message()),
              HasSubstr("--timestamp-format %d.%m.%Y %Q"));
  EXPECT_EQ(RawObjects(), objects);
  EXPECT_THAT(std::string(ParseColumnHint("zip:money").status().message()),
              HasSubstr("unknown type \"money\""));
  EXPECT_FALSE(ParseColumnHint("zip").ok());
  EXPECT_FALSE(ParseColumnHint("amount:DECIMAL(40,2)").ok());
  EXPECT_FALSE(ParseColumnHint("amount:DECIMAL(999999999999999999999,2)").ok());

  // A hint that reads a table's earlier files another way (here: day-first dates, where they were
  // read month-first) must not let their old ranges skip them.
  ASSERT_TRUE(
      Load({Input("d1.csv", "d\n03/05/2024\n"), Input("d2.csv", "d\n04/06/2024\n")}, "shop.days")
          .ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.days WHERE d = DATE '2024-03-05'"), "1");
  request.inputs = {Input("d3.csv", "d\n25/12/2024\n")};
  request.table = {"shop", "days"};
  request.column_hints = {hint("d:DATE", {"%d/%m/%Y"})};
  ASSERT_TRUE(loader_->Load(admin_, request).ok());
  for (const char* day : {"2024-05-03", "2024-06-04", "2024-12-25", "2024-03-05"}) {
    EXPECT_EQ(
        Scalar(fmt::format("SELECT count(*) FROM shop.days WHERE d = DATE '{}'", day)),
        Scalar(fmt::format("SELECT count(*) FROM shop.days WHERE CAST(d AS VARCHAR) = '{}'", day)))
        << day;
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.days WHERE d = DATE '2024-05-03'"), "1");
  request.inputs = {Input("d4.csv", "d\n01/01/2025\n")};
  request.column_hints = {hint("day:VARCHAR")};
  Input("p2/day=2024-01-01/x.json", "{\"v\": 1}\n");
  request.inputs = {inputs_ + "/p2"};
  request.table = {"shop", "parted"};
  EXPECT_THAT(std::string(loader_->Load(admin_, request).status().message()),
              HasSubstr("--column day: a partition column"));
}

}  // namespace
}  // namespace loch
