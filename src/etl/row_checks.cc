#include "etl/row_checks.h"

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "engine/datetime_formats.h"
#include "engine/type_tree.h"
#include "etl/job_spec.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

constexpr const char* kFailureType =
    "STRUCT(\"column\" VARCHAR, \"value\" VARCHAR, reason VARCHAR)";

bool SameType(std::string_view a, std::string_view b) { return AsciiLower(a) == AsciiLower(b); }

// A failure of column `name`: {'column': ..., 'value': <value_sql>, 'reason': ...} when
// `condition` holds.
std::string Failure(const std::string& condition, const std::string& name,
                    const std::string& value_sql, const std::string& reason) {
  return fmt::format(
      "CASE WHEN {} THEN CAST({{'column': {}, 'value': {}, 'reason': {}}} AS {}) END", condition,
      QuoteLiteral(name), value_sql, QuoteLiteral(reason), kFailureType);
}

}  // namespace

const TableName kCheckedTable{"loch-run", "checked"};

TableName QuarantineTableOf(const TableName& target) {
  return TableName{kQuarantineDatabase, target.database};
}

const std::vector<Column>& QuarantineColumns() {
  static const std::vector<Column> columns = {
      {"run_id", "BIGINT"},  {"job", "VARCHAR"},         {"quarantined_at", "TIMESTAMP"},
      {"bad_row", "BIGINT"}, {"column_name", "VARCHAR"}, {"value", "VARCHAR"},
      {"reason", "VARCHAR"}, {"original", "VARCHAR"},    {"target_table", "VARCHAR"}};
  return columns;
}

absl::StatusOr<std::string> CheckedSql(std::string_view query, const std::vector<Column>& result,
                                       const std::map<std::string, ColumnCheck>& checks,
                                       std::string_view delete_marker) {
  std::map<std::string, const ColumnCheck*> by_lower_name;
  for (const auto& [name, check] : checks) by_lower_name[AsciiLower(name)] = &check;
  std::string kept_row = "true";  // rows that are not deletes
  for (const Column& column : result) {
    if (!delete_marker.empty() && AsciiLower(column.name) == AsciiLower(delete_marker)) {
      kept_row = fmt::format("coalesce(CAST(loch_in.{} AS VARCHAR) <> 'D', true)",
                             QuoteIdentifier(column.name));
    }
  }
  std::set<std::string> seen;
  std::vector<std::string> typed, originals, failures;
  for (const Column& column : result) {
    const std::string lower = AsciiLower(column.name);
    if (lower == "loch_failures" || lower == "loch_original" || lower == "loch_in") {
      return absl::InvalidArgumentError(fmt::format(
          "the query returns a column named \"{}\", a name the quarantine's checks use: rename it",
          column.name));
    }
    seen.insert(lower);
    const std::string name = QuoteIdentifier(column.name);
    const std::string original = "loch_in." + name;
    originals.push_back(fmt::format("{} := {}", name, name));
    const auto found = by_lower_name.find(lower);
    const ColumnCheck* check = found == by_lower_name.end() ? nullptr : found->second;
    const bool casts =
        check != nullptr && !check->type.empty() && !SameType(check->type, column.type);
    if (!casts) {
      typed.push_back(name);
    } else {
      const std::optional<TypeTree> tree = ParseType(check->type);
      if (!tree.has_value()) {
        return absl::InvalidArgumentError(
            fmt::format("column \"{}\": \"{}\" is not a type", column.name, check->type));
      }
      const std::string type = TypeName(*tree);
      const bool nested = !tree->children.empty();
      const bool parses_datetime =
          SameType(column.type, "VARCHAR") &&
          (SameType(tree->name, "DATE") || SameType(tree->name, "TIMESTAMP")) &&
          !check->datetime_formats.empty();
      std::string cast;
      if (nested) {
        cast = fmt::format("CAST({} AS {})", name, type);  // strict: see the header
      } else if (parses_datetime) {
        std::vector<std::string> formats = check->datetime_formats;
        if (std::find(formats.begin(), formats.end(), "iso8601") == formats.end()) {
          formats.push_back("iso8601");
        }
        cast = DatetimeParseSql(name, formats, type);
      } else {
        cast = fmt::format("TRY_CAST({} AS {})", name, type);
      }
      typed.push_back(fmt::format("{} AS {}", cast, name));
      if (!nested) {
        failures.push_back(
            Failure(fmt::format("{}{} IS NOT NULL AND {} IS NULL",
                                check->key ? "" : kept_row + " AND ", original, name),
                    column.name, fmt::format("CAST({} AS VARCHAR)", original),
                    parses_datetime ? fmt::format("not a {} in the column's formats", type)
                                    : fmt::format("cannot cast to {}", type)));
      }
    }
    if (check != nullptr && check->required) {
      // A value that failed its cast reports that failure, not this one as well.
      const std::string condition =
          (check->key ? "" : kept_row + " AND ") +
          (casts ? fmt::format("{} IS NULL AND {} IS NULL", original, name)
                 : fmt::format("{} IS NULL", name));
      failures.push_back(
          Failure(condition, column.name, "CAST(NULL AS VARCHAR)", "required column is NULL"));
    }
  }
  for (const auto& [name, check] : checks) {
    if (!seen.contains(AsciiLower(name))) {
      return absl::InvalidArgumentError(fmt::format(
          "the job checks column \"{}\" (types or required), but its query returns no such column",
          name));
    }
  }
  const std::string failure_list =
      failures.empty()
          ? fmt::format("CAST(NULL AS {}[])", kFailureType)
          : fmt::format("list_filter([{}], lambda f: f IS NOT NULL)", Join(failures, ",\n    "));
  return fmt::format(
      "WITH loch_source AS (\n{}\n),\n"
      "loch_typed AS (SELECT {},\n  struct_pack({}) AS loch_in\n  FROM loch_source),\n"
      "loch_checked AS (SELECT *, {} AS loch_failures FROM loch_typed)\n"
      "SELECT * EXCLUDE (loch_in, loch_failures),\n"
      "  CASE WHEN len(loch_failures) > 0 THEN CAST(to_json(loch_in) AS VARCHAR) END AS "
      "loch_original,\n"
      "  nullif(loch_failures, []) AS loch_failures\n"
      "FROM loch_checked",
      WithoutFinalSemicolons(query), Join(typed, ",\n  "), Join(originals, ", "), failure_list);
}

namespace {

std::string Checked() {
  return fmt::format("{}.{}", QuoteIdentifier(kCheckedTable.database),
                     QuoteIdentifier(kCheckedTable.table));
}

}  // namespace

std::string GoodRowsSql() {
  return fmt::format(
      "SELECT * EXCLUDE (loch_failures, loch_original) FROM {} WHERE loch_failures IS NULL",
      Checked());
}

std::string CountsSql() {
  return fmt::format("SELECT count(*) AS rows, count(loch_failures) AS bad_rows FROM {}",
                     Checked());
}

std::string FailureSummarySql(int limit) {
  return fmt::format(
      "SELECT struct_extract(f, 'column') AS column_name, struct_extract(f, 'reason') AS reason, "
      "count(*) AS failures FROM (SELECT unnest(loch_failures) AS f FROM {} WHERE loch_failures "
      "IS NOT NULL) GROUP BY ALL ORDER BY failures DESC, column_name, reason LIMIT {}",
      Checked(), limit);
}

std::string QuarantineRowsSql(const TableName& target, int64_t run_id, std::string_view job,
                              int64_t now_micros) {
  return fmt::format(
      "SELECT CAST({} AS BIGINT) AS run_id, CAST({} AS VARCHAR) AS job, "
      "make_timestamp(CAST({} AS BIGINT)) AS quarantined_at, bad_row, "
      "struct_extract(f, 'column') AS column_name, struct_extract(f, 'value') AS value, "
      "struct_extract(f, 'reason') AS reason, original, CAST({} AS VARCHAR) AS target_table\n"
      "FROM (SELECT bad_row, original, unnest(failures) AS f FROM (\n"
      "  SELECT row_number() OVER () AS bad_row, loch_original AS original, loch_failures AS "
      "failures FROM {} WHERE loch_failures IS NOT NULL))",
      run_id, QuoteLiteral(job), now_micros, QuoteLiteral(target.table), Checked());
}

}  // namespace loch::etl
