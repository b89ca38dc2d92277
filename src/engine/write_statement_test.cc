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

TEST(WriteStatement, TableNamesFoldToLowercaseColumnNamesOnlyUnquoted) {
  auto quoted = ParseWriteStatement("INSERT INTO \"Shop\".\"Orders\" SELECT 1");
  ASSERT_TRUE(quoted.ok() && quoted->has_value()) << quoted.status();
  EXPECT_EQ((*quoted)->table.ToString(), "shop.orders");  // table names are lowercase
  auto folded = ParseWriteStatement("DROP TABLE SHOP.\"orders\"");
  ASSERT_TRUE(folded.ok() && folded->has_value()) << folded.status();
  EXPECT_EQ((*folded)->table.ToString(), "shop.orders");
  auto column = ParseWriteStatement("ALTER TABLE a.b RENAME COLUMN Amount TO \"Amount Cents\"");
  ASSERT_TRUE(column.ok() && column->has_value()) << column.status();
  EXPECT_EQ((*column)->column, "amount");
  EXPECT_EQ((*column)->new_column, "Amount Cents");
  EXPECT_FALSE(ParseWriteStatement("INSERT INTO \"shop-x\".orders SELECT 1").ok());
}

TEST(WriteStatement, SchemaStatements) {
  auto database = ParseWriteStatement("create schema if not exists Mart;");
  ASSERT_TRUE(database.ok() && database->has_value()) << database.status();
  EXPECT_EQ((*database)->kind, WriteStatement::Kind::kCreateDatabase);
  EXPECT_EQ((*database)->table.database, "mart");
  EXPECT_TRUE((*database)->if_not_exists);
  EXPECT_FALSE(ParseWriteStatement("CREATE DATABASE a b").ok());
  EXPECT_EQ((*ParseWriteStatement("CREATE DATABASE \"A\""))->table.database, "a");
  EXPECT_FALSE(ParseWriteStatement("CREATE DATABASE \"a b\"").ok());

  auto table_comment = ParseWriteStatement("COMMENT ON TABLE a.b IS 'it''s /* not */ -- text'");
  ASSERT_TRUE(table_comment.ok() && table_comment->has_value()) << table_comment.status();
  EXPECT_EQ((*table_comment)->kind, WriteStatement::Kind::kCommentOnTable);
  EXPECT_EQ((*table_comment)->comment, "it's /* not */ -- text");
  auto column_comment = ParseWriteStatement("comment on column a.b.\"Weird Name\" is null");
  ASSERT_TRUE(column_comment.ok() && column_comment->has_value()) << column_comment.status();
  EXPECT_EQ((*column_comment)->kind, WriteStatement::Kind::kCommentOnColumn);
  EXPECT_EQ((*column_comment)->column, "Weird Name");
  EXPECT_EQ((*column_comment)->comment, "");
  for (const char* bad : {"COMMENT ON TABLE a.b IS 'unclosed", "COMMENT ON TABLE a.b 'x'",
                          "COMMENT ON COLUMN a.b IS 'x'", "COMMENT ON TABLE a.b IS 'x' extra",
                          "COMMENT ON VIEW a.b IS 'x'"}) {
    EXPECT_FALSE(ParseWriteStatement(bad).ok()) << bad;
  }

  auto rename = ParseWriteStatement("ALTER TABLE IF EXISTS a.b RENAME TO c");
  ASSERT_TRUE(rename.ok() && rename->has_value()) << rename.status();
  EXPECT_EQ((*rename)->kind, WriteStatement::Kind::kRenameTable);
  EXPECT_TRUE((*rename)->if_exists);
  EXPECT_EQ((*rename)->new_table->ToString(), "a.c");
  auto moved = ParseWriteStatement("alter table a.b rename to X.Y");
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ((*moved)->new_table->ToString(), "x.y");
  auto column = ParseWriteStatement("ALTER TABLE a.b RENAME COLUMN Old TO \"New Name\"");
  ASSERT_TRUE(column.ok() && column->has_value()) << column.status();
  EXPECT_EQ((*column)->kind, WriteStatement::Kind::kRenameColumn);
  EXPECT_EQ((*column)->column, "old");
  EXPECT_EQ((*column)->new_column, "New Name");
  auto short_form = ParseWriteStatement("ALTER TABLE a.b RENAME old TO new");
  ASSERT_TRUE(short_form.ok() && short_form->has_value());
  EXPECT_EQ((*short_form)->new_column, "new");
  for (const char* bad : {"ALTER TABLE a.b RENAME", "ALTER TABLE a.b RENAME TO",
                          "ALTER TABLE a.b "
                          "RENAME COLUMN x TO \"\"",
                          "ALTER TABLE a.b ADD COLUMN x INT", "ALTER TABLE a.b RENAME TO c.d.e"}) {
    EXPECT_FALSE(ParseWriteStatement(bad).ok()) << bad;
  }
  // ALTER of anything but a table is not a write statement (the guard explains).
  auto view = ParseWriteStatement("ALTER VIEW a.v RENAME TO w");
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(view->has_value());
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
