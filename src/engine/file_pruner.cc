#include "engine/file_pruner.h"

#include <cstdlib>
#include <map>
#include <optional>

namespace loch {
namespace {

using nlohmann::json;
using Op = ColumnPredicate::Op;

std::optional<std::string> ConstantText(const json& node) {
  if (node.value("type", "") == "OPERATOR_CAST")
    return ConstantText(node.value("child", json::object()));
  if (node.value("type", "") != "VALUE_CONSTANT") return std::nullopt;
  const json& value = node["value"];
  if (value.value("is_null", true)) return std::nullopt;
  const json& raw = value["value"];
  if (raw.is_string()) return raw.get<std::string>();
  if (raw.is_number_integer()) return std::to_string(raw.get<int64_t>());
  if (raw.is_number()) return raw.dump();
  return std::nullopt;
}

std::optional<std::string> ColumnName(const json& node, const std::string& table,
                                      const std::string& alias) {
  if (node.value("type", "") != "COLUMN_REF") return std::nullopt;
  const json& names = node["column_names"];
  if (!names.is_array() || names.empty() || names.size() > 2) return std::nullopt;
  if (names.size() == 2 && names[0] != table && names[0] != alias) return std::nullopt;
  return names.back().get<std::string>();
}

Op Flip(Op op) {
  switch (op) {
    case Op::kLt:
      return Op::kGt;
    case Op::kLe:
      return Op::kGe;
    case Op::kGt:
      return Op::kLt;
    case Op::kGe:
      return Op::kLe;
    default:
      return op;
  }
}

void Collect(const json& node, const std::string& table, const std::string& alias,
             std::vector<ColumnPredicate>& out) {
  const std::string type = node.value("type", "");
  if (type == "CONJUNCTION_AND") {
    for (const auto& child : node["children"]) Collect(child, table, alias, out);
    return;
  }
  static const std::map<std::string, Op> kComparisons = {{"COMPARE_EQUAL", Op::kEq},
                                                         {"COMPARE_LESSTHAN", Op::kLt},
                                                         {"COMPARE_LESSTHANOREQUALTO", Op::kLe},
                                                         {"COMPARE_GREATERTHAN", Op::kGt},
                                                         {"COMPARE_GREATERTHANOREQUALTO", Op::kGe}};
  if (auto it = kComparisons.find(type); it != kComparisons.end()) {
    const json& left = node.value("left", json::object());
    const json& right = node.value("right", json::object());
    if (auto column = ColumnName(left, table, alias); column && ConstantText(right)) {
      out.push_back({*column, it->second, {*ConstantText(right)}});
    } else if (auto flipped = ColumnName(right, table, alias); flipped && ConstantText(left)) {
      out.push_back({*flipped, Flip(it->second), {*ConstantText(left)}});
    }
  } else if (type == "COMPARE_IN") {
    const json& children = node["children"];
    auto column = children.empty() ? std::nullopt : ColumnName(children[0], table, alias);
    if (!column) return;
    ColumnPredicate predicate{*column, Op::kIn, {}};
    for (size_t i = 1; i < children.size(); ++i) {
      auto value = ConstantText(children[i]);
      if (!value) return;  // a non-constant member: cannot prune on this IN
      predicate.values.push_back(*value);
    }
    out.push_back(std::move(predicate));
  } else if (type == "COMPARE_BETWEEN") {
    auto column = ColumnName(node.value("input", json::object()), table, alias);
    auto lower = ConstantText(node.value("lower", json::object()));
    auto upper = ConstantText(node.value("upper", json::object()));
    if (column && lower) out.push_back({*column, Op::kGe, {*lower}});
    if (column && upper) out.push_back({*column, Op::kLe, {*upper}});
  }
}

bool IsNumeric(const std::string& type) {
  for (const char* prefix : {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                             "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL"}) {
    if (type.starts_with(prefix)) return true;
  }
  return false;
}

// Compares values of a column of `type`: numbers numerically, everything else (dates, timestamps in
// ISO form, strings) byte-wise, with a date constant widened to midnight for timestamp columns.
std::optional<int> Compare(const std::string& a, const std::string& b, const std::string& type) {
  if (IsNumeric(type)) {
    char* end_a = nullptr;
    char* end_b = nullptr;
    const double x = std::strtod(a.c_str(), &end_a), y = std::strtod(b.c_str(), &end_b);
    if (*end_a != '\0' || *end_b != '\0') return std::nullopt;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  auto normal = [&](std::string value) {
    if (type.starts_with("TIMESTAMP") && value.size() == 10) value += " 00:00:00";
    return value;
  };
  const int c = normal(a).compare(normal(b));
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// Could a value in [min, max] satisfy `op value`? nullopt when unknown.
bool RangeMayMatch(const std::string& min, const std::string& max, Op op, const std::string& value,
                   const std::string& type) {
  auto lo = Compare(value, min, type), hi = Compare(value, max, type);
  if (!lo || !hi) return true;
  switch (op) {
    case Op::kEq:
      return *lo >= 0 && *hi <= 0;
    case Op::kLt:
      return Compare(min, value, type).value_or(-1) < 0;
    case Op::kLe:
      return Compare(min, value, type).value_or(-1) <= 0;
    case Op::kGt:
      return Compare(max, value, type).value_or(1) > 0;
    case Op::kGe:
      return Compare(max, value, type).value_or(1) >= 0;
    default:
      return true;
  }
}

}  // namespace

std::vector<ColumnPredicate> ExtractPredicates(const json& statement, const TableName& table) {
  std::vector<ColumnPredicate> predicates;
  const json& node = statement.value("node", json::object());
  if (node.value("type", "") != "SELECT_NODE") return predicates;
  const json& from = node.value("from_table", json::object());
  if (from.value("type", "") != "BASE_TABLE" || from.value("schema_name", "") != table.database ||
      from.value("table_name", "") != table.table) {
    return predicates;
  }
  const json& where = node.value("where_clause", json());
  if (where.is_object()) Collect(where, table.table, from.value("alias", ""), predicates);
  return predicates;
}

bool MayMatch(const DataFile& file, const Schema& schema,
              const std::vector<ColumnPredicate>& predicates) {
  for (const ColumnPredicate& predicate : predicates) {
    const Column* column = schema.Find(predicate.column);
    if (column == nullptr) continue;
    std::optional<std::string> min, max;
    if (auto partition = file.partition_values.find(predicate.column);
        partition != file.partition_values.end()) {
      min = max = partition->second;
    } else {
      for (const ColumnStats& stats : file.stats) {
        if (stats.column == predicate.column) {
          min = stats.min;
          max = stats.max;
        }
      }
    }
    if (!min || !max) continue;  // no statistics (or all NULL): keep the file
    bool any = false;
    for (const std::string& value : predicate.values) {
      any = any || RangeMayMatch(*min, *max, predicate.op == Op::kIn ? Op::kEq : predicate.op,
                                 value, column->type);
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace loch
