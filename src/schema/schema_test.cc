#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/text_types.h"
#include "schema/schema_policy.h"
#include "schema/type_lattice.h"

namespace loch {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TypeLattice, ParsesWhatDuckDbPrintsAndPrintsWhatItReads) {
  auto tree = ParseType(
      R"(STRUCT(id BIGINT, "name" VARCHAR, tags VARCHAR[], m MAP(VARCHAR, DECIMAL(18,3)))[])");
  ASSERT_TRUE(tree.has_value());
  EXPECT_EQ(tree->name, "LIST");
  const TypeTree& element = tree->children[0];
  ASSERT_EQ(element.children.size(), 4u);
  EXPECT_EQ(element.field_names[1], "name");
  EXPECT_EQ(element.children[2].name, "LIST");
  EXPECT_EQ(element.children[3].children[1].name, "DECIMAL(18,3)");
  EXPECT_EQ(ParseType(TypeName(*tree)), tree);
  EXPECT_EQ(ParseType("TIMESTAMP WITH TIME ZONE")->name, "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(ParseType(R"(STRUCT("a ""b"" c" INTEGER))")->field_names[0], R"(a "b" c)");
  EXPECT_FALSE(ParseType("STRUCT(a INTEGER, a VARCHAR)").has_value());
  EXPECT_EQ(WidenType("DECIMAL(5,2000000000)", "BIGINT"), "VARCHAR");  // not a DuckDB decimal
  // What the lattice does not read only widens with itself.
  EXPECT_FALSE(ParseType("INTEGER[3]").has_value());
  EXPECT_FALSE(ParseType("UNION(a INTEGER, b VARCHAR)").has_value());
  EXPECT_FALSE(ParseType("ENUM('a', 'b')").has_value());
  EXPECT_FALSE(ParseType("STRUCT(a INTEGER").has_value());
  EXPECT_FALSE(ParseType("STRUCT").has_value());  // found by fuzzing: printed back as STRUCT()
  EXPECT_FALSE(ParseType("").has_value());
  // Nesting is bounded.
  std::string deep = "BIGINT";
  for (int i = 0; i < 100; ++i) deep = "STRUCT(a " + deep + ")";
  EXPECT_FALSE(ParseType(deep).has_value());
  EXPECT_EQ(WidenType(deep, "BIGINT"), "VARCHAR");
}

TEST(TypeLattice, ScalarsWidenAlongTheLattice) {
  EXPECT_EQ(WidenType("INTEGER", "BIGINT"), "BIGINT");
  EXPECT_EQ(WidenType("UINTEGER", "INTEGER"), "BIGINT");
  EXPECT_EQ(WidenType("BIGINT", "DOUBLE"), "DOUBLE");
  EXPECT_EQ(WidenType("BIGINT", "DECIMAL(18,3)"), "DECIMAL(22,3)");
  EXPECT_EQ(WidenType("DECIMAL(10,2)", "DECIMAL(8,4)"), "DECIMAL(12,4)");
  EXPECT_EQ(WidenType("HUGEINT", "DECIMAL(18,3)"), "DOUBLE");  // past 38 digits
  EXPECT_EQ(WidenType("DECIMAL(18,3)", "DOUBLE"), "DOUBLE");
  EXPECT_EQ(WidenType("DATE", "TIMESTAMP"), "TIMESTAMP");
  EXPECT_EQ(WidenType("TIMESTAMP_MS", "TIMESTAMP WITH TIME ZONE"), "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(WidenType("BIGINT", "VARCHAR"), "VARCHAR");
  EXPECT_EQ(WidenType("BOOLEAN", "BIGINT"), "VARCHAR");
  EXPECT_EQ(WidenType("NULL", "DATE"), "DATE");
  EXPECT_EQ(WidenType("DATE", "NULL"), "DATE");
}

TEST(TypeLattice, StructsMergeFieldByFieldAndListsByElement) {
  // A field one side lacks is kept (NULL there); a new one is added; a conflicting one widens
  // alone.
  EXPECT_EQ(WidenType(R"(STRUCT(id BIGINT, "name" VARCHAR, tags VARCHAR[]))",
                      R"(STRUCT(id BIGINT, "name" VARCHAR))"),
            R"(STRUCT(id BIGINT, "name" VARCHAR, tags VARCHAR[]))");
  // (When one side holds the other, its own spelling is kept.)
  EXPECT_EQ(WidenType(R"(STRUCT(id INTEGER))", R"(STRUCT(id BIGINT, "name" VARCHAR))"),
            R"(STRUCT(id BIGINT, "name" VARCHAR))");
  EXPECT_EQ(WidenType(R"(STRUCT(id BIGINT, v BIGINT))", R"(STRUCT(v VARCHAR))"),
            R"(STRUCT("id" BIGINT, "v" VARCHAR))");
  EXPECT_EQ(WidenType("BIGINT[]", "DOUBLE[]"), "DOUBLE[]");
  EXPECT_EQ(WidenType("JSON[]", "BIGINT[]"), "BIGINT[]");  // an empty list's element is unknown
  EXPECT_EQ(WidenType("STRUCT(a BIGINT)[]", "STRUCT(b DATE)[]"),
            R"(STRUCT("a" BIGINT, "b" DATE)[])");
  EXPECT_EQ(WidenType("MAP(VARCHAR, INTEGER)", "MAP(VARCHAR, DOUBLE)"), "MAP(VARCHAR, DOUBLE)");
  EXPECT_EQ(WidenType("STRUCT(a BIGINT)", "BIGINT[]"), "JSON");
  EXPECT_EQ(WidenType("STRUCT(a BIGINT)", "BIGINT"), "VARCHAR");
  EXPECT_EQ(WidenType("STRUCT(a BIGINT)", "STRUCT(\"A\" VARCHAR)"), "JSON");  // not one struct
  EXPECT_FALSE(ParseType("STRUCT(a BIGINT, \"A\" VARCHAR)").has_value());
  // The same type spelled another way is no change.
  EXPECT_EQ(WidenType(R"(STRUCT("id" BIGINT))", "STRUCT(id BIGINT)"), R"(STRUCT("id" BIGINT))");
}

DataFile FileWith(const std::string& key, int64_t rows,
                  const std::vector<std::pair<std::string, int64_t>>& null_counts) {
  DataFile file;
  file.key = key;
  file.row_count = rows;
  for (const auto& [column, nulls] : null_counts) {
    file.stats.push_back(ColumnStats{column, std::nullopt, std::nullopt, nulls, ""});
  }
  return file;
}

TEST(SchemaPolicy, AColumnWithoutValuesChangesNoType) {
  Schema schema;
  FileProfile header_only;
  header_only.columns = {{"id", "VARCHAR"}, {"name", "VARCHAR"}};
  FileMerge first = MergeFile(schema, header_only, FileWith("a.csv", 0, {}), "db.t");
  EXPECT_THAT(first.change.added, ElementsAre("id (no values yet)", "name (no values yet)"));
  FileProfile typed;
  typed.columns = {{"id", "BIGINT"}, {"name", "VARCHAR"}};
  FileMerge second =
      MergeFile(first.schema, typed, FileWith("b.csv", 2, {{"id", 0}, {"name", 0}}), "db.t");
  EXPECT_TRUE(second.change.widened.empty());
  EXPECT_THAT(second.change.typed, ElementsAre("id BIGINT", "name VARCHAR"));
  EXPECT_EQ(second.schema.Find("id")->type, "BIGINT");
  // And a header-only file after that changes nothing.
  FileMerge third = MergeFile(second.schema, header_only, FileWith("c.csv", 0, {}), "db.t");
  EXPECT_FALSE(third.change.changed());
  EXPECT_EQ(third.schema.columns, second.schema.columns);
}

TEST(SchemaPolicy, TextThatMostlyParsesIsTypedWithItsTextKept) {
  FileProfile profile;
  profile.columns = {{"amount", "VARCHAR"}};
  TextTyping typing;
  typing.type = "DOUBLE";
  typing.values = 100;
  typing.parsed = 99;
  typing.min = "1.5";
  typing.max = "20.25";
  typing.bad_examples = {"n/a"};
  profile.typed_text["amount"] = typing;
  DataFile file = FileWith("x.json", 100, {{"amount", 0}});
  FileMerge merged = MergeFile(Schema{}, profile, file, "db.t");
  ASSERT_EQ(merged.schema.columns.size(), 2u);
  const Column& amount = merged.schema.columns[0];
  EXPECT_EQ(amount.type, "DOUBLE");
  EXPECT_TRUE(ParsedFromText(amount));
  EXPECT_TRUE(amount.nullable);
  EXPECT_EQ(RawOf(merged.schema.columns[1]), "amount");
  EXPECT_EQ(merged.schema.columns[1].name, "amount_raw");
  ASSERT_EQ(merged.unparsed.size(), 1u);
  EXPECT_EQ(merged.unparsed[0].unparsed, 1);
  UnparsedSummary summary;
  summary.Add("x.json", merged.unparsed);
  ASSERT_EQ(summary.Lines("db.t").size(), 1u);
  EXPECT_THAT(summary.Lines("db.t")[0],
              HasSubstr("db.t.amount: 1 of 100 value(s) in x.json do not read as DOUBLE"));
  EXPECT_THAT(summary.Lines("db.t")[0], HasSubstr("\"n/a\""));
  summary.Add("y.json", merged.unparsed);  // many files: one line, counts summed
  EXPECT_THAT(summary.Lines("db.t"),
              ElementsAre(HasSubstr("2 of 200 value(s) in 2 files (first x.json)")));
  // The range leaves the bad value out, so it is no bound of the column: not used for pruning.
  EXPECT_EQ(merged.file.stats[0].min, "1.5");
  EXPECT_EQ(merged.file.stats[0].type, "");

  // A file whose text all parses needs no companion, and its range bounds the column.
  profile.typed_text["amount"].parsed = 100;
  FileMerge clean = MergeFile(Schema{}, profile, file, "db.t");
  EXPECT_EQ(clean.schema.columns.size(), 1u);
  EXPECT_EQ(clean.file.stats[0].type, "DOUBLE");
}

TEST(SchemaPolicy, ATypeConflictMakesTextAndSaysSo) {
  Schema schema;
  schema.columns = {{"v", "BIGINT"}};
  FileProfile profile;
  profile.columns = {{"v", "BOOLEAN"}};
  FileMerge merged = MergeFile(schema, profile, FileWith("k", 1, {{"v", 0}}), "db.t");
  EXPECT_THAT(merged.change.widened, ElementsAre("v: BIGINT -> VARCHAR"));
  ASSERT_EQ(merged.warnings.size(), 1u);
  EXPECT_THAT(merged.warnings[0], HasSubstr("it is now text"));
}

TEST(SchemaPolicy, PartitionTypesFromFolderValues) {
  EXPECT_EQ(InferPartitionType({"1", "22"}), "BIGINT");
  EXPECT_EQ(InferPartitionType({"2026-01-01"}), "DATE");
  EXPECT_EQ(InferPartitionType({"eu", "2026-01-01"}), "VARCHAR");
}

TEST(LenientTypes, ChosenOnlyWhenNearlyEveryValueFits) {
  EXPECT_EQ(ChooseLenientType(100, {99, 100, 0}), "BIGINT");
  EXPECT_EQ(ChooseLenientType(100, {50, 95, 0}), "DOUBLE");
  EXPECT_EQ(ChooseLenientType(100, {0, 0, 90}), "BOOLEAN");
  EXPECT_EQ(ChooseLenientType(100, {80, 85, 0}), std::nullopt);
  EXPECT_EQ(ChooseLenientType(0, {0, 0, 0}), std::nullopt);
}

}  // namespace
}  // namespace loch
