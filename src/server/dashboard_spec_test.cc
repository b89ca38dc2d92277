#include "server/dashboard_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace loch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::vector<DashboardParameter> kRange = {{"from", "date", "2026-01-01"},
                                                {"to", "date", "2026-01-31"},
                                                {"customer", "text", ""},
                                                {"min_amount", "number", "0"}};

TEST(BindDashboardParametersTest, PlaceholdersBecomeTypedParametersNumberedOncePerName) {
  auto bound = BindDashboardParameters(
      "SELECT * FROM shop.orders WHERE day BETWEEN {{from}} AND {{ to }} AND day <> {{from}}",
      kRange, {{"to", "2026-02-01"}});
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->sql,
            "SELECT * FROM shop.orders WHERE day BETWEEN  $1  AND  $2  AND day <>  $1 ");
  EXPECT_EQ(bound->sql_without_values,
            "SELECT * FROM shop.orders WHERE day BETWEEN  NULL  AND  NULL  AND day <>  NULL ");
  ASSERT_EQ(bound->parameters.size(), 2u);
  EXPECT_EQ(bound->parameters[0].value, "2026-01-01");  // the default
  EXPECT_EQ(bound->parameters[0].type, "DATE");
  EXPECT_EQ(bound->parameters[1].value, "2026-02-01");  // given
}

TEST(BindDashboardParametersTest, AValueIsNeverSqlText) {
  // A hostile text value stays one value: the SQL keeps its $1.
  auto bound = BindDashboardParameters("SELECT * FROM t WHERE c = {{customer}}", kRange,
                                       {{"customer", "x' OR 1=1; DROP TABLE t; --"}});
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(bound->sql, "SELECT * FROM t WHERE c =  $1 ");
  EXPECT_EQ(bound->parameters[0].value, "x' OR 1=1; DROP TABLE t; --");
  EXPECT_EQ(bound->parameters[0].type, "VARCHAR");
}

TEST(BindDashboardParametersTest, WholeNumbersAreBoundExactly) {
  auto whole = BindDashboardParameters("SELECT {{min_amount}}", kRange,
                                       {{"min_amount", "9007199254740993"}});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->parameters[0].type, "BIGINT");  // a double would be ...992
  auto fraction = BindDashboardParameters("SELECT {{min_amount}}", kRange, {{"min_amount", "2.5"}});
  ASSERT_TRUE(fraction.ok());
  EXPECT_EQ(fraction->parameters[0].type, "DOUBLE");
}

TEST(BindDashboardParametersTest, PlaceholdersInsideLiteralsAndCommentsAreText) {
  auto bound = BindDashboardParameters(
      "SELECT '{{from}}' AS a, \"{{to}}\" -- {{from}}\n /* {{to}} */ , {{from}}", kRange, {});
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->sql, "SELECT '{{from}}' AS a, \"{{to}}\" -- {{from}}\n /* {{to}} */ ,  $1 ");
  EXPECT_EQ(bound->parameters.size(), 1u);
  auto doubled = BindDashboardParameters("SELECT 'it''s {{from}}', {{to}}", kRange, {});
  ASSERT_TRUE(doubled.ok());
  EXPECT_EQ(doubled->sql, "SELECT 'it''s {{from}}',  $1 ");
}

TEST(BindDashboardParametersTest, MistakesAreNamed) {
  const auto error = [](std::string_view sql, std::map<std::string, std::string> values = {}) {
    auto bound = BindDashboardParameters(sql, kRange, values);
    EXPECT_TRUE(absl::IsInvalidArgument(bound.status())) << sql;
    return std::string(bound.status().message());
  };
  EXPECT_THAT(error("SELECT {{until}}"), HasSubstr("{{until}}"));
  EXPECT_THAT(error("SELECT {{from}}", {{"from", "yesterday"}}), HasSubstr("not a date"));
  EXPECT_THAT(error("SELECT {{from}}", {{"from", "2026-02-30"}}), HasSubstr("calendar"));
  EXPECT_THAT(error("SELECT {{min_amount}}", {{"min_amount", "1e999"}}), HasSubstr("number"));
  EXPECT_THAT(error("SELECT {{min_amount}}", {{"min_amount", "1; DROP"}}), HasSubstr("number"));
  EXPECT_THAT(error("SELECT 1", {{"limit", "5"}}), HasSubstr("no parameter \"limit\""));
  EXPECT_THAT(error("SELECT {{From}}"), HasSubstr("not a parameter"));
  EXPECT_THAT(error("SELECT {{from"), HasSubstr("opens no"));
  EXPECT_THAT(error("SELECT 'open"), HasSubstr("string literal"));
  EXPECT_THAT(error("SELECT /* open"), HasSubstr("comment"));
  EXPECT_THAT(error("SELECT {{customer}}", {{"customer", std::string(1001, 'x')}}),
              HasSubstr("longer"));
}

TEST(DashboardFromJsonTest, ReadsAndWritesADefinition) {
  const json definition = {
      {"title", "Sales"},
      {"refresh_seconds", 60},
      {"parameters", {{{"name", "from"}, {"type", "date"}, {"default", "2026-01-01"}}}},
      {"tiles",
       {{{"id", "t1"}, {"title", "Orders"}, {"query", "orders_per_day"}, {"chart", "line"}},
        {{"id", "t2"}, {"query", "order_count"}, {"chart", "number"}, {"y", {"orders"}}}}}};
  auto spec = DashboardFromJson(definition);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->title, "Sales");
  EXPECT_EQ(spec->refresh_seconds, 60);
  ASSERT_EQ(spec->tiles.size(), 2u);
  EXPECT_EQ(spec->FindTile("t2")->chart, "number");
  EXPECT_EQ(spec->FindTile("t3"), nullptr);
  auto again = DashboardFromJson(DashboardToJson(*spec));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(DashboardToJson(*again), DashboardToJson(*spec));
}

TEST(DashboardFromJsonTest, AWrongFieldIsNamed) {
  const json tile = {{"id", "t1"}, {"query", "q"}, {"chart", "line"}};
  const std::vector<std::pair<json, std::string>> cases = {
      {json::array(), "definition"},
      {{{"title", 5}}, "title"},
      {{{"refresh_seconds", 5}}, "refresh_seconds"},
      {{{"refresh_seconds", 1.5}}, "refresh_seconds"},
      {{{"parameters", {{{"name", "1st"}}}}}, "parameters[0].name"},
      {{{"parameters", {{{"name", "a"}, {"type", "time"}}}}}, "parameters[0].type"},
      {{{"parameters", {{{"name", "a"}, {"type", "date"}, {"default", "soon"}}}}},
       "parameters[0].default"},
      {{{"parameters", {{{"name", "a"}}, {{"name", "a"}}}}}, "parameters[1].name"},
      {{{"tiles", {json{{"id", "t1"}, {"query", "q"}, {"chart", "radar"}}}}}, "tiles[0].chart"},
      {{{"tiles", {json{{"id", "t 1"}, {"query", "q"}}}}}, "tiles[0].id"},
      {{{"tiles", {json{{"id", "t1"}, {"query", "../etc"}}}}}, "tiles[0].query"},
      {{{"tiles", {tile, tile}}}, "tiles[1].id"},
      {{{"tiles", json::array({1})}}, "tiles[0]"},
      {{{"tiles", std::vector<json>(51, tile)}}, "tiles"},
  };
  for (const auto& [definition, field] : cases) {
    auto spec = DashboardFromJson(definition);
    EXPECT_TRUE(absl::IsInvalidArgument(spec.status())) << definition.dump();
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(field)) << definition.dump();
  }
}

TEST(ConsoleNamesTest, AreUrlSafe) {
  EXPECT_TRUE(ValidateConsoleName("orders_per_day", "name").ok());
  EXPECT_TRUE(ValidateConsoleName("2026-sales", "name").ok());
  for (const char* bad : {"", "Sales", "-x", "a/b", "a b", "a.b", "%2e%2e"}) {
    EXPECT_FALSE(ValidateConsoleName(bad, "name").ok()) << bad;
  }
  EXPECT_FALSE(ValidateConsoleName(std::string(65, 'a'), "name").ok());
}

}  // namespace
}  // namespace loch
