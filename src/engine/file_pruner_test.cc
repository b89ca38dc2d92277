// Pruning decisions on hand-made statistics, judged by a real DuckDB. (The differential test under
// tests/ checks the same against the unpruned engine on generated data.)

#include "engine/file_pruner.h"

#include <gtest/gtest.h>

#include "engine/duck.h"
#include "engine/prune_predicate.h"

namespace loch {
namespace {

class FilePrunerTest : public testing::Test {
 protected:
  void SetUp() override {
    database_.emplace(std::move(duck::Database::OpenInMemory({})).value());
    connection_.emplace(std::move(duck::Connection::Open(*database_)).value());
    schema_.columns = {Column("price", "DOUBLE"), Column("amount", "DECIMAL(18,3)"),
                       Column("id", "BIGINT"),    Column("name", "VARCHAR"),
                       Column("ts", "TIMESTAMP"), Column("flag", "BOOLEAN")};
    schema_.partition_columns = {Column("day", "DATE"), Column("k", "VARCHAR")};
  }

  nlohmann::json Statement(const std::string& sql) {
    auto prepared = connection_->Prepare("SELECT json_serialize_sql(CAST(? AS VARCHAR))");
    EXPECT_TRUE(prepared.ok());
    EXPECT_TRUE(prepared->Bind(1, std::string_view(sql)).ok());
    auto result = prepared->Execute();
    EXPECT_TRUE(result.ok()) << result.status();
    auto rows = result->FetchAllAsText();
    return nlohmann::json::parse(rows->at(0).at(0).value())["statements"][0];
  }

  // Which of `files` may match `where` over t.p, as a string of 0/1 per file.
  std::string Kept(const std::string& where, const std::vector<DataFile>& files,
                   const std::vector<QueryParameter>& parameters = {}) {
    const PrunePredicate predicate = ExtractPrunePredicate(
        Statement("SELECT * FROM t.p WHERE " + where), TableName{"t", "p"}, schema_, parameters);
    auto may = FilesThatMayMatch(*connection_, predicate, schema_, files);
    if (!may.ok()) return "ERROR " + std::string(may.status().message());
    std::string kept;
    for (bool keep : *may) kept += keep ? '1' : '0';
    return kept;
  }

  static DataFile File(const std::string& column, const std::string& type,
                       std::optional<std::string> min, std::optional<std::string> max,
                       int64_t nulls = 0, int64_t rows = 10) {
    DataFile file;
    file.row_count = rows;
    file.stats.push_back(ColumnStats{column, std::move(min), std::move(max), nulls, type});
    return file;
  }

  std::optional<duck::Database> database_;
  std::optional<duck::Connection> connection_;
  Schema schema_;
};

TEST_F(FilePrunerTest, DecimalLiteralsCompareByValueNotUnscaledDigits) {
  const std::vector<DataFile> files = {File("price", "DOUBLE", "1.5", "1.6"),
                                       File("price", "DOUBLE", "1.8", "20.0"),
                                       File("price", "DOUBLE", "20.1", "20.3")};
  EXPECT_EQ(Kept("price > 1.7", files), "011");
  EXPECT_EQ(Kept("price > 20.2", files), "001");
  EXPECT_EQ(Kept("price <= 1.5", files), "100");
  EXPECT_EQ(Kept("price = 1.55", files), "100");
  EXPECT_EQ(Kept("1.7 < price", files), "011");
}

TEST_F(FilePrunerTest, BigIntegersCompareExactlyAsDuckDbDoes) {
  const std::vector<DataFile> files = {
      File("id", "BIGINT", "9007199254740993", "9007199254740993")};
  EXPECT_EQ(Kept("id = 9007199254740993", files), "1");
  EXPECT_EQ(Kept("id = 9007199254740992", files), "0");
  // Against a DOUBLE constant DuckDB compares in DOUBLE, where 2^53 + 1 equals 2^53.
  EXPECT_EQ(Kept("id = 9007199254740992e0", files), "1");
  EXPECT_EQ(Kept("id > 170141183460469231731687303715884105727", files), "0");
}

TEST_F(FilePrunerTest, CastsAndStringLiteralsFollowTheColumnType) {
  const std::vector<DataFile> files = {File("id", "BIGINT", "5", "9"),
                                       File("id", "BIGINT", "10", "99")};
  EXPECT_EQ(Kept("id > '9'", files), "01");  // the literal becomes a number, not text
  EXPECT_EQ(Kept("CAST(id AS DOUBLE) >= 9.5", files), "01");
  EXPECT_EQ(Kept("id * 1 > 50", files), "11");  // arithmetic on the column: not understood
  EXPECT_EQ(Kept("-id < 0", files), "11");
  EXPECT_EQ(Kept("CAST(id AS VARCHAR) = '7'", files), "11");  // text order is not number order
}

TEST_F(FilePrunerTest, NullsAndNegations) {
  const std::vector<DataFile> files = {File("id", "BIGINT", std::nullopt, std::nullopt, 10, 10),
                                       File("id", "BIGINT", "1", "5", 0, 10),
                                       File("id", "BIGINT", "1", "5", 3, 10)};
  EXPECT_EQ(Kept("id IS NULL", files), "101");
  EXPECT_EQ(Kept("id IS NOT NULL", files), "011");
  EXPECT_EQ(Kept("id > 0", files), "011");
  EXPECT_EQ(Kept("NOT (id <= 5)", files), "000");
  EXPECT_EQ(Kept("NOT (id BETWEEN 0 AND 10)", files), "000");
  EXPECT_EQ(Kept("id NOT IN (1, 2)", files), "111");
  EXPECT_EQ(Kept("id <> 3", files), "011");
  EXPECT_EQ(Kept("id > 7 OR id IS NULL", files), "101");
  EXPECT_EQ(Kept("id > NULL", files), "011");
}

TEST_F(FilePrunerTest, StatisticsOfAnotherOrderOrUnknownTypeAreNotTrusted) {
  // Measured as text: '10' < '9', so the bounds say nothing about the numbers.
  const std::vector<DataFile> files = {File("id", "VARCHAR", "10", "9"), File("id", "", "1", "2"),
                                       File("id", "INTEGER", "1", "2")};
  EXPECT_EQ(Kept("id = 50", files), "110");
  // FLOAT bounds widen to DOUBLE through the FLOAT value, not its shortest text.
  const std::vector<DataFile> floats = {File("price", "FLOAT", "0.1", "0.1")};
  EXPECT_EQ(Kept("price > 0.1", floats), "1");
}

TEST_F(FilePrunerTest, PartitionValuesDatesAndTimestamps) {
  DataFile a, b, encoded;
  a.partition_values = {{"day", "2024-01-01"}, {"k", "10"}};
  b.partition_values = {{"day", "2024-03-01"}, {"k", "9"}};
  encoded.partition_values = {{"day", "2024-05-01"}, {"k", "a%20b"}};
  const std::vector<DataFile> files = {a, b, encoded};
  EXPECT_EQ(Kept("day = DATE '2024-01-01'", files), "100");
  EXPECT_EQ(Kept("day >= '2024-02-01'", files), "011");
  EXPECT_EQ(Kept("day < TIMESTAMP '2024-01-01 00:00:01'", files), "100");
  EXPECT_EQ(Kept("day > DATE '2024-02-01' + INTERVAL 40 DAY", files), "001");
  EXPECT_EQ(Kept("k < '9'", files), "101");  // strings order as text; encoded values stay
  EXPECT_EQ(Kept("k IN ('a b', 'zz')", files), "001");
  // Mixed-type IN lists are typed together by DuckDB: not pruned.
  EXPECT_EQ(Kept("day IN (DATE '2024-01-01', TIMESTAMP '2024-03-01 00:00:00')", files), "111");
}

TEST_F(FilePrunerTest, Booleans) {
  const std::vector<DataFile> files = {File("flag", "BOOLEAN", "false", "false"),
                                       File("flag", "BOOLEAN", "true", "true"),
                                       File("flag", "BOOLEAN", "false", "true")};
  EXPECT_EQ(Kept("flag", files), "111");
  EXPECT_EQ(Kept("flag > 't'", files), "000");
  EXPECT_EQ(Kept("NOT (flag > 't')", files), "111");
  EXPECT_EQ(Kept("flag = true", files), "011");
  EXPECT_EQ(Kept("flag < true", files), "101");
}

TEST_F(FilePrunerTest, PlaceholdersPruneWithTheirBoundValues) {
  const std::vector<DataFile> files = {File("id", "BIGINT", "1", "2"),
                                       File("id", "BIGINT", "40", "60")};
  EXPECT_EQ(Kept("id = $1", files, {{"50", ""}}), "01");
  EXPECT_EQ(Kept("$1 > id", files, {{"5", "BIGINT"}}), "10");
  EXPECT_EQ(Kept("id BETWEEN $1 AND $2", files, {{"0", ""}, {"3", ""}}), "10");
  EXPECT_EQ(Kept("id IN ($1, $2)", files, {{"1", ""}, {"2", ""}}), "10");
  EXPECT_EQ(Kept("id = $1", files, {{std::nullopt, ""}}), "11");  // = NULL: not judged
  EXPECT_EQ(Kept("id = $1 + 1", files, {{"50", ""}}), "11");      // type inferred from + : no
  EXPECT_EQ(Kept("id = CAST($1 AS BIGINT)", files, {{"50", ""}}), "01");
  EXPECT_EQ(Kept("id = $2", files, {{"50", ""}}), "11");  // no value for $2: not judged
  // A typed placeholder compares as the type it is bound as: 2.5 as a DOUBLE, not cast to the
  // column's BIGINT (which would round it to 3 and skip a file holding 3).
  EXPECT_EQ(Kept("id > $1", {File("id", "BIGINT", "1", "3")}, {{"2.5", "DOUBLE"}}), "1");
  EXPECT_EQ(Kept("id < $1", {File("id", "BIGINT", "2", "9")}, {{"2.4", "DOUBLE"}}), "1");
  EXPECT_EQ(Kept("id > $1", {File("id", "BIGINT", "1", "3")}, {{"3", "BIGINT"}}), "0");
  // A value that is hostile SQL stays a value.
  EXPECT_EQ(Kept("CAST(id AS VARCHAR) = $1", files, {{"x') OR true OR ('", ""}}), "11");
}

TEST_F(FilePrunerTest, OnlySingleTableSelectsArePruned) {
  const std::vector<DataFile> files = {File("id", "BIGINT", "1", "5")};
  for (const std::string sql :
       {"SELECT * FROM t.p WHERE id > 10 AND id IN (SELECT id FROM t.p)",
        "WITH c AS (SELECT * FROM t.p) SELECT * FROM t.p WHERE id > 10",
        "SELECT * FROM t.p JOIN t.q USING (id) WHERE id > 10",
        "SELECT * FROM t.p WHERE id > 10 USING SAMPLE 10",
        "SELECT * FROM t.p TABLESAMPLE 10 WHERE id > 10", "SELECT * FROM t.other WHERE id > 10",
        // Column aliases rename by position: `id` here is the table's first column, price.
        "SELECT * FROM t.p AS x(amount, id) WHERE id > 10"}) {
    const PrunePredicate predicate =
        ExtractPrunePredicate(Statement(sql), TableName{"t", "p"}, schema_);
    EXPECT_TRUE(predicate.IsTrue()) << sql;
  }
  const PrunePredicate aliased = ExtractPrunePredicate(
      Statement("SELECT * FROM t.p AS x WHERE x.ID > 10"), TableName{"t", "p"}, schema_);
  auto may = FilesThatMayMatch(*connection_, aliased, schema_, files);
  ASSERT_TRUE(may.ok()) << may.status();
  EXPECT_FALSE((*may)[0]);
}

TEST(RenderConstant, KeepsTypesExactly) {
  auto render = [](const std::string& value_json) {
    return RenderConstant(
               nlohmann::json::parse(R"({"class":"CONSTANT","type":"VALUE_CONSTANT","value":)" +
                                     value_json + "}"))
        .value_or("none");
  };
  EXPECT_EQ(
      render(
          R"({"type":{"id":"DECIMAL","type_info":{"width":2,"scale":1}},"is_null":false,"value":17})"),
      "CAST('1.7' AS DECIMAL(2,1))");
  EXPECT_EQ(
      render(
          R"({"type":{"id":"DECIMAL","type_info":{"width":3,"scale":2}},"is_null":false,"value":-5})"),
      "CAST('-0.05' AS DECIMAL(3,2))");
  EXPECT_EQ(
      render(
          R"({"type":{"id":"HUGEINT","type_info":null},"is_null":false,"value":{"upper":-1,"lower":0}})"),
      "(-18446744073709551616)");
  EXPECT_EQ(render(R"({"type":{"id":"DOUBLE","type_info":null},"is_null":false,"value":-0.0})"),
            "CAST('-0' AS DOUBLE)");
  EXPECT_EQ(render(R"({"type":{"id":"VARCHAR","type_info":null},"is_null":false,"value":"a'b"})"),
            "'a''b'");
  EXPECT_EQ(render(R"({"type":{"id":"BLOB","type_info":null},"is_null":false,"value":"x"})"),
            "none");
  EXPECT_EQ(render(R"("not an object")"), "none");
}

}  // namespace
}  // namespace loch
