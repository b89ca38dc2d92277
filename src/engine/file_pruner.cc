#include "engine/file_pruner.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/strings.h"
#include "engine/text_types.h"
#include "fmt/format.h"

namespace loch {
namespace {

// The columns the predicate's atoms name, each with its index in the bounds relation.
void CollectColumns(const PrunePredicate& predicate, std::map<std::string, size_t>& index_of) {
  if (predicate.kind == PrunePredicate::Kind::kAtom) {
    index_of.try_emplace(predicate.atom.column, index_of.size());
    return;
  }
  for (const PrunePredicate& child : predicate.children) CollectColumns(child, index_of);
}

// Can bounds measured in `measured` stand for the values of a column of type `column`? Casting
// within numbers or within dates/timestamps never reverses order, so bounds stay bounds.
bool BoundsUsable(const std::string& measured, const std::string& column) {
  if (measured.empty()) return false;  // statistics from before their type was recorded
  if (measured == column) return true;
  const TypeFamily family = FamilyOfTypeName(column);
  if (FamilyOfTypeName(measured) != family) return false;
  if (family == TypeFamily::kDatetime) return true;
  if (family != TypeFamily::kNumeric) return false;
  // Bounds measured in floating point lost digits (2^53 + 1 became 2^53): only good for a
  // floating-point column.
  const bool lossy = measured == "DOUBLE" || measured == "FLOAT";
  return !lossy || column == "DOUBLE" || column == "FLOAT";
}

// Whether DuckDB reads a partition value as its text says: not when it may differ
// (Hive paths are URL-decoded by DuckDB; empty and default-partition values read as NULL).
bool PartitionValueUsable(const std::string& value) {
  return !value.empty() && value.find('%') == std::string::npos &&
         value != "__HIVE_DEFAULT_PARTITION__";
}

// One file's cells for one column: lower bound, upper bound, null count (-1: unknown) and
// whether every row is NULL there.
struct Cells {
  std::string lo = "NULL", hi = "NULL";
  int64_t nulls = -1;
  bool all_null = false;
};

Cells CellsFor(const DataFile& file, const Column& column) {
  Cells cells;
  // A raw companion reads another column's text: no statistics describe it.
  if (column.metadata.contains("raw_of")) return cells;
  if (auto partition = file.partition_values.find(column.name);
      partition != file.partition_values.end()) {
    if (PartitionValueUsable(partition->second)) {
      cells.lo = cells.hi =
          fmt::format("TRY_CAST({} AS {})", QuoteLiteral(partition->second), column.type);
    }
    return cells;
  }
  // The column's statistics, under the one name it has in this file (a file with it under two
  // names, old and new, reads the first that is not NULL: neither range bounds that).
  const std::vector<std::string> names = column.FileNames();
  const ColumnStats* found = nullptr;
  for (const ColumnStats& stats : file.stats) {
    if (std::find(names.begin(), names.end(), stats.column) == names.end()) continue;
    if (found != nullptr) return cells;
    found = &stats;
  }
  if (found != nullptr) {
    const ColumnStats& stats = *found;
    // Text read as another type: values that do not parse read as NULL too, so the null count of
    // the text undercounts the column's NULLs (but a column of only NULL text is only NULL).
    const bool parsed_text = ParsedFromText(column);
    cells.nulls = parsed_text ? -1 : stats.null_count;
    cells.all_null =
        stats.null_count >= 0 && file.row_count >= 0 && stats.null_count == file.row_count;
    auto bound = [&](const std::optional<std::string>& text) -> std::string {
      if (!text.has_value()) return "NULL";
      if (stats.type == column.type) {
        return fmt::format("TRY_CAST({} AS {})", QuoteLiteral(*text), column.type);
      }
      return fmt::format("TRY_CAST(TRY_CAST({} AS {}) AS {})", QuoteLiteral(*text), stats.type,
                         column.type);
    };
    // A column typed by a user's hint (schema_policy.h, ColumnHint) may read a file's text another
    // way than its statistics were measured (other datetime formats, another type): only text
    // kept as text is bounded by them.
    const bool hinted = column.metadata.contains("hint");
    if (BoundsUsable(stats.type, column.type) &&
        (!hinted || (column.type == "VARCHAR" && stats.type == "VARCHAR"))) {
      cells.lo = bound(stats.min);
      cells.hi = bound(stats.max);
    }
  }
  return cells;
}

// The condition under which DuckDB compares a column of `family` with `constant` in an order its
// bounds keep: the constant's type must be of the same family. (A string literal is cast to the
// column's type by DuckDB, so it needs no condition.)
std::string TypeGate(TypeFamily family, const std::string& constant) {
  const std::string type = fmt::format("typeof({})", constant);
  switch (family) {
    case TypeFamily::kNumeric:
      return fmt::format(
          "({0} IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', "
          "'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT', 'FLOAT', 'DOUBLE') OR {0} LIKE "
          "'DECIMAL(%')",
          type);
    case TypeFamily::kDatetime:
      return fmt::format(
          "{} IN ('DATE', 'TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS')", type);
    case TypeFamily::kTimestampTz:
      return type + " = 'TIMESTAMP WITH TIME ZONE'";
    case TypeFamily::kString:
      return type + " = 'VARCHAR'";
    case TypeFamily::kBoolean:
      return type + " = 'BOOLEAN'";
    case TypeFamily::kOther:
      break;
  }
  return "false";
}

std::string AtomSql(const PruneAtom& atom, size_t n) {
  const std::string all_null = fmt::format("all_null_{}", n);
  switch (atom.kind) {
    case PruneAtom::Kind::kIsNull:
      return fmt::format("(nulls_{} <> 0)", n);
    case PruneAtom::Kind::kIsNotNull:
      return fmt::format("(NOT {})", all_null);
    case PruneAtom::Kind::kCompare:
      break;
  }
  const std::string lo = atom.ColumnSideSql(fmt::format("lo_{}", n));
  const std::string hi = atom.ColumnSideSql(fmt::format("hi_{}", n));
  const std::string& k = atom.constant_sql;
  // Some value v with lo <= v <= hi could satisfy `v op k`:
  std::string comparison;
  if (atom.op == "=") {
    comparison = fmt::format("{} <= {} AND {} >= {}", lo, k, hi, k);
  } else if (atom.op == "<>") {
    comparison = fmt::format("NOT ({} = {} AND {} = {})", lo, k, hi, k);
  } else if (atom.op == "<" || atom.op == "<=") {
    comparison = fmt::format("{} {} {}", lo, atom.op, k);
  } else {  // ">", ">="
    comparison = fmt::format("{} {} {}", hi, atom.op, k);
  }
  // Unknown bounds (NULL) leave the comparison unknown: the file may match.
  std::string may = fmt::format("COALESCE(({}), true)", comparison);
  if (!atom.string_literal) {
    may = fmt::format("CASE WHEN {} THEN {} ELSE true END", TypeGate(atom.family, k), may);
  }
  // A column that is NULL on every row of the file satisfies no comparison.
  return fmt::format("(NOT {} AND {})", all_null, may);
}

// Constants that DuckDB types together (one IN list, one BETWEEN) compare like each one alone
// only when they share a type, or are all integers (exact in any integer type).
std::string SameTypeSql(const std::vector<std::string>& constants) {
  std::vector<std::string> same, integers;
  for (const std::string& constant : constants) {
    same.push_back(fmt::format("typeof({}) = typeof({})", constant, constants.front()));
    integers.push_back(fmt::format(
        "typeof({}) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', "
        "'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT')",
        constant));
  }
  return fmt::format("(({}) OR ({}))", Join(same, " AND "), Join(integers, " AND "));
}

std::string MaySql(const PrunePredicate& predicate, const std::map<std::string, size_t>& index_of) {
  switch (predicate.kind) {
    case PrunePredicate::Kind::kTrue:
      return "true";
    case PrunePredicate::Kind::kAtom:
      return AtomSql(predicate.atom, index_of.at(predicate.atom.column));
    case PrunePredicate::Kind::kAnd:
    case PrunePredicate::Kind::kOr:
      break;
  }
  std::vector<std::string> children;
  for (const PrunePredicate& child : predicate.children) {
    children.push_back(MaySql(child, index_of));
  }
  const char* joiner = predicate.kind == PrunePredicate::Kind::kAnd ? " AND " : " OR ";
  std::string combined = "(" + Join(children, joiner) + ")";
  if (predicate.same_type_constants.empty()) return combined;
  return fmt::format("(CASE WHEN {} THEN {} ELSE true END)",
                     SameTypeSql(predicate.same_type_constants), combined);
}

}  // namespace

std::string PruneQuerySql(const PrunePredicate& predicate, const Schema& schema,
                          const std::vector<DataFile>& files) {
  if (predicate.IsTrue() || files.empty()) return "";
  std::map<std::string, size_t> index_of;
  CollectColumns(predicate, index_of);
  std::vector<const Column*> columns(index_of.size(), nullptr);
  for (const auto& [name, n] : index_of) {
    columns[n] = schema.Find(name);
    if (columns[n] == nullptr) return "";  // the predicate was made for another schema
  }
  std::vector<std::string> names = {"i"}, typed = {"i"};
  for (size_t n = 0; n < columns.size(); ++n) {
    for (const char* part : {"lo", "hi"}) {
      names.push_back(fmt::format("{}_{}", part, n));
      // Typed even when every bound is NULL, so comparisons bind as in the query.
      typed.push_back(fmt::format("CAST({0}_{1} AS {2}) AS {0}_{1}", part, n, columns[n]->type));
    }
    for (const char* part : {"nulls", "all_null"}) {
      names.push_back(fmt::format("{}_{}", part, n));
      typed.push_back(fmt::format("{}_{}", part, n));
    }
  }
  std::vector<std::string> rows;
  rows.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    std::string row = fmt::format("({}", i);
    for (const Column* column : columns) {
      const Cells cells = CellsFor(files[i], *column);
      row += fmt::format(", {}, {}, {}, {}", cells.lo, cells.hi, cells.nulls,
                         cells.all_null ? "true" : "false");
    }
    rows.push_back(row + ")");
  }
  return fmt::format("SELECT i FROM (SELECT {} FROM (VALUES {}) AS v({})) AS b WHERE {}",
                     Join(typed, ", "), Join(rows, ", "), Join(names, ", "),
                     MaySql(predicate, index_of));
}

absl::StatusOr<std::vector<bool>> FilesThatMayMatch(duck::Connection& connection,
                                                    const PrunePredicate& predicate,
                                                    const Schema& schema,
                                                    const std::vector<DataFile>& files) {
  const std::string sql = PruneQuerySql(predicate, schema, files);
  if (sql.empty()) return std::vector<bool>(files.size(), true);
  ASSIGN_OR_RETURN(duck::Result result, connection.Query(sql));
  ASSIGN_OR_RETURN(auto rows, result.FetchAllAsText());
  std::vector<bool> may_match(files.size(), false);
  for (const auto& row : rows) {
    size_t index = 0;
    const std::string text = row.empty() ? "" : row[0].value_or("");
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (error != std::errc() || end != text.data() + text.size() || index >= files.size()) {
      return absl::InternalError(fmt::format("pruning returned an unexpected row \"{}\"", text));
    }
    may_match[index] = true;
  }
  return may_match;
}

}  // namespace loch
