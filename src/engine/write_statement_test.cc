#include "engine/write_statement.h"

#include <gtest/gtest.h>

namespace loch {
namespace {

TEST(WriteStatement, RecognisesEachFormAndKeepsTheQuery) {
  auto create = ParseWriteStatement(
      "  -- note\n CREATE TABLE IF NOT EXISTS Mart.Daily WITH (partitioned_by = ARRAY['day', "
      "'kind']) AS SELECT 1 AS day");
  ASSERT_TRUE(create.ok() && create->has_value()) << create.status();
  EXPECT_EQ((*create)->kind, WriteStatement::Kind::kCreateTableAs);
  EXPECT_TRUE((*create)->if_not_exists);
  EXPECT_EQ((*create)->table.ToString(), "mart.daily");
  EXPECT_EQ((*create)->partitioned_by, (std::vector<std::string>{"day", "kind"}));
  EXPECT_EQ((*create)->query, "SELECT 1 AS day");

  auto insert = ParseWriteStatement("insert into a.b select * from c.d");
  ASSERT_TRUE(insert.ok() && insert->has_value());
  EXPECT_EQ((*insert)->kind, WriteStatement::Kind::kInsertInto);
  EXPECT_EQ((*insert)->query, "select * from c.d");

  auto drop = ParseWriteStatement("DROP TABLE IF EXISTS a.b ;");
  ASSERT_TRUE(drop.ok() && drop->has_value());
  EXPECT_EQ((*drop)->kind, WriteStatement::Kind::kDropTable);
  EXPECT_TRUE((*drop)->if_exists);

  auto view = ParseWriteStatement("CREATE OR REPLACE VIEW a.v AS SELECT 1");
  ASSERT_TRUE(view.ok() && view->has_value());
  EXPECT_EQ((*view)->kind, WriteStatement::Kind::kCreateView);
  EXPECT_TRUE((*view)->or_replace);

  auto drop_view = ParseWriteStatement("drop view a.v");
  ASSERT_TRUE(drop_view.ok() && drop_view->has_value());
  EXPECT_EQ((*drop_view)->kind, WriteStatement::Kind::kDropView);
  EXPECT_FALSE((*drop_view)->if_exists);
  EXPECT_FALSE((*drop_view)->cascade);

  auto cascade = ParseWriteStatement("drop table a.b cascade purge");
  ASSERT_TRUE(cascade.ok() && cascade->has_value());
  EXPECT_TRUE((*cascade)->cascade);
  EXPECT_TRUE((*cascade)->purge);
  auto purge = ParseWriteStatement("DROP TABLE a.b PURGE");
  ASSERT_TRUE(purge.ok() && purge->has_value());
  EXPECT_FALSE((*purge)->cascade);
  EXPECT_TRUE((*purge)->purge);
  EXPECT_FALSE(ParseWriteStatement("DROP VIEW a.v PURGE").ok());
  EXPECT_FALSE(ParseWriteStatement("DROP TABLE a.b PURGE CASCADE").ok());
}

TEST(WriteStatement, OtherStatementsAreNotWrites) {
  for (const char* sql : {"SELECT 1", "CREATE OR REPLACE TABLE a.b AS SELECT 1", "CREATE MACRO m()",
                          "INSERTED", "DROPPED", "", "   ", "/* only a comment */"}) {
    auto parsed = ParseWriteStatement(sql);
    ASSERT_TRUE(parsed.ok()) << sql;
    EXPECT_FALSE(parsed->has_value()) << sql;
  }
}

TEST(WriteStatement, MalformedWritesSayWhatWasExpected) {
  for (const char* sql :
       {"CREATE TABLE a AS SELECT 1", "CREATE TABLE a.b AS", "CREATE TABLE a.b",
        "CREATE TABLE a.b WITH (partitioned_by = ARRAY[day]) AS SELECT 1",
        "CREATE TABLE a.b WITH (partitioned_by = ARRAY[]) AS SELECT 1", "INSERT INTO a.b",
        "DROP TABLE a.b c", "DROP TABLE IF a.b", "CREATE VIEW a.v SELECT 1", "DROP VIEW v"}) {
    auto parsed = ParseWriteStatement(sql);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << sql << ": " << parsed.status();
    EXPECT_NE(std::string(parsed.status().message()).find("expected"), std::string::npos)
        << sql << ": " << parsed.status();
  }
}

TEST(WriteStatement, HugeStatementsParseInLinearTimeWithoutRecursion) {
  // std::regex recursed per character here and overflowed the stack on a long statement.
  const std::string literal(8 << 20, 'x');
  auto insert = ParseWriteStatement("INSERT INTO a.b SELECT '" + literal + "'");
  ASSERT_TRUE(insert.ok() && insert->has_value());
  EXPECT_EQ((*insert)->query.size(), literal.size() + 9);
  auto spaces = ParseWriteStatement("DROP TABLE a.b" + std::string(8 << 20, ' ') + "x");
  EXPECT_TRUE(absl::IsInvalidArgument(spaces.status()));
}

}  // namespace
}  // namespace loch
