#include "etl/dq_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"

namespace loch::etl {
namespace {

using ::testing::HasSubstr;

std::string Error(std::string_view text) {
  auto rules = ParseRules(text);
  return rules.ok() ? "parsed" : std::string(ToStd(rules.status().message()));
}

TEST(DqRulesTest, EveryRuleKindParsesAndPrintsBackTheSame) {
  const std::string text = R"(# the orders' rules
IsComplete "id"
IsUnique "id" "day"
ColumnValues "amount" between 0 and 1e6 severity warn
ColumnValues "status" in ["new", "paid", 3]
ColumnValues "email" matches "[^@]+@[^@]+"
ColumnValues "qty" >= -1.5
RowCount between 1 and 1000000
RowCount > 0
Freshness "ts" <= 2 hours
ReferentialIntegrity "user_id" "crm.users.id"
CustomSql "SELECT count(*) FROM output WHERE note = \"x\\y\"" = 0 severity error
)";
  auto rules = ParseRules(text);
  ASSERT_TRUE(rules.ok()) << rules.status();
  ASSERT_EQ(rules->size(), 11u);
  EXPECT_EQ((*rules)[0].kind, DqRule::Kind::kIsComplete);
  EXPECT_EQ((*rules)[0].line, 2);
  EXPECT_EQ((*rules)[1].columns, (std::vector<std::string>{"id", "day"}));
  EXPECT_TRUE((*rules)[2].warn);
  EXPECT_EQ((*rules)[3].values.size(), 3u);
  EXPECT_TRUE((*rules)[3].values[0].is_text);
  EXPECT_FALSE((*rules)[3].values[2].is_text);
  EXPECT_EQ((*rules)[8].amount, 2);
  EXPECT_EQ((*rules)[8].unit, "hour");
  EXPECT_EQ((*rules)[10].text, "SELECT count(*) FROM output WHERE note = \"x\\y\"");
  EXPECT_FALSE((*rules)[10].warn);
  auto again = ParseRules(RulesText(*rules));
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << RulesText(*rules);
  for (DqRule& rule : *again) rule.line = 0;
  for (DqRule& rule : *rules) rule.line = 0;
  EXPECT_EQ(*again, *rules);
}

TEST(DqRulesTest, DqdlsBracketedFormIsReadToo) {
  auto rules = ParseRules("Rules = [\n  IsComplete \"a\",\n  RowCount > 5\n]\n");
  ASSERT_TRUE(rules.ok()) << rules.status();
  EXPECT_EQ(rules->size(), 2u);
  EXPECT_THAT(Error("Rules = [ IsComplete \"a\""), HasSubstr("\"]\" closing the rules"));
}

TEST(DqRulesTest, MistakesAreNamedWithTheirLineAndColumn) {
  EXPECT_EQ(Error("IsComplete \"a\"\nIsFresh \"b\""),
            "rules line 2, column 1: unknown rule \"IsFresh\"; the rules are IsComplete, "
            "IsUnique, ColumnValues, RowCount, Freshness, ReferentialIntegrity and CustomSql");
  EXPECT_THAT(Error("IsComplete a"), HasSubstr("line 1, column 12: expected a column name"));
  EXPECT_THAT(Error("ColumnValues \"a\" between 1 2"), HasSubstr("expected \"and\""));
  EXPECT_THAT(Error("RowCount in [1]"), HasSubstr("expected between or a comparison"));
  EXPECT_THAT(Error("RowCount > \"many\""), HasSubstr("expected a number"));
  EXPECT_THAT(Error("Freshness \"ts\" > 2 hours"), HasSubstr("\"<=\" or \"<\""));
  EXPECT_THAT(Error("Freshness \"ts\" <= 2 weeks"), HasSubstr("seconds, minutes, hours or days"));
  EXPECT_THAT(Error("ReferentialIntegrity \"a\" \"users.id\""), HasSubstr("db.table.column"));
  EXPECT_THAT(Error("IsComplete \"a\" IsComplete \"b\""), HasSubstr("the end of the rule"));
  EXPECT_THAT(Error("IsComplete \"a"), HasSubstr("not closed"));
  EXPECT_THAT(Error("RowCount > 1x"), HasSubstr("runs into"));
  EXPECT_THAT(Error("RowCount ! 1"), HasSubstr("\"!=\""));
  EXPECT_THAT(Error("IsComplete \"a\" severity fatal"), HasSubstr("error or warn"));
  EXPECT_THAT(Error("IsComplete \"a\\n\""), HasSubstr("escapes only"));
  EXPECT_THAT(Error("CustomSql \" \" > 0"), HasSubstr("needs a query"));
  EXPECT_THAT(Error("IsComplete \"a\" \x01"), HasSubstr("\\x01"));
}

TEST(DqRulesTest, LimitsAreEnforced) {
  std::string many;
  for (size_t i = 0; i <= kMaxRules; ++i) many += "RowCount > 0\n";
  EXPECT_THAT(Error(many), HasSubstr("more than 200 rules"));
  EXPECT_THAT(Error(std::string(kMaxRulesBytes + 1, ' ')), HasSubstr("the limit is"));
  EXPECT_THAT(Error("CustomSql \"" + std::string(5000, 'x') + "\" > 0"), HasSubstr("over 4096"));
  std::string values = "ColumnValues \"a\" in [";
  for (int i = 0; i <= 100; ++i) values += std::to_string(i) + (i < 100 ? "," : "]");
  EXPECT_THAT(Error(values), HasSubstr("more than 100 values"));
}

// Names and texts are quoted in the SQL: a hostile name or pattern stays a name or a text.
TEST(DqRulesTest, NamesAndTextsCannotBreakOutOfTheirQuotes) {
  auto rules = ParseRules(
      "ColumnValues \"a\\\"; DROP\" matches \"x'; SELECT 1; --\"\n"
      "ReferentialIntegrity \"c\" \"d\\\".x.t.c\"");
  ASSERT_FALSE(rules.ok());  // four parts: refused
  rules = ParseRules("ColumnValues \"a\\\"; DROP\" matches \"x'; SELECT 1; --\"");
  ASSERT_TRUE(rules.ok()) << rules.status();
  const std::string sql = RuleSql(rules->front(), "t", 0);
  EXPECT_THAT(sql, HasSubstr("\"a\"\"; DROP\""));
  EXPECT_THAT(sql, HasSubstr("'x''; SELECT 1; --'"));
}

}  // namespace
}  // namespace loch::etl
