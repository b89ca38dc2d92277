#include "load/schema_merge.h"

#include <algorithm>
#include <regex>
#include <set>

#include "fmt/format.h"

namespace loch {
namespace {

const std::vector<std::string> kIntegerRank = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT"};

int IntegerRank(const std::string& type) {
  auto it = std::find(kIntegerRank.begin(), kIntegerRank.end(), type);
  if (it != kIntegerRank.end()) return static_cast<int>(it - kIntegerRank.begin());
  if (type == "UTINYINT") return 1;
  if (type == "USMALLINT") return 2;
  if (type == "UINTEGER") return 3;
  return -1;
}

bool IsFloat(const std::string& type) {
  return type == "FLOAT" || type == "DOUBLE" || type.starts_with("DECIMAL");
}

}  // namespace

std::string WidenType(const std::string& a, const std::string& b) {
  if (a == b) return a;
  if (a == "NULL") return b;
  if (b == "NULL") return a;
  // An empty list's element type is unknown (NULL[] or JSON[]): any list type holds it.
  const auto unknown_list = [](const std::string& t) { return t == "NULL[]" || t == "JSON[]"; };
  if (unknown_list(a) && b.ends_with("[]")) return b;
  if (unknown_list(b) && a.ends_with("[]")) return a;
  const int ra = IntegerRank(a), rb = IntegerRank(b);
  if (ra >= 0 && rb >= 0) return kIntegerRank[std::max(ra, rb)];
  if ((ra >= 0 || IsFloat(a)) && (rb >= 0 || IsFloat(b))) return "DOUBLE";
  std::set<std::string> pair = {a, b};
  if (pair == std::set<std::string>{"DATE", "TIMESTAMP"}) return "TIMESTAMP";
  return "VARCHAR";
}

SchemaChange MergeColumns(std::vector<Column>& schema, const std::vector<Column>& file_columns) {
  SchemaChange change;
  const bool new_table = schema.empty();
  for (const Column& incoming : file_columns) {
    auto existing = std::find_if(schema.begin(), schema.end(),
                                 [&](const Column& c) { return c.name == incoming.name; });
    if (existing == schema.end()) {
      schema.push_back(incoming);
      // Rows merged before this file do not have the column: NULL there.
      if (!new_table) schema.back().nullable = true;
      change.added.push_back(incoming.name);
      continue;
    }
    existing->nullable = existing->nullable || incoming.nullable;
    const std::string widened = WidenType(existing->type, incoming.type);
    if (widened != existing->type) {
      change.widened.push_back(
          fmt::format("{}: {} -> {}", existing->name, existing->type, widened));
      existing->type = widened;
    }
  }
  return change;
}

std::string InferPartitionType(const std::vector<std::string>& values) {
  static const std::regex kInteger("-?[0-9]{1,18}");
  static const std::regex kDate("[0-9]{4}-[0-9]{2}-[0-9]{2}");
  bool all_integers = !values.empty(), all_dates = !values.empty();
  for (const std::string& value : values) {
    all_integers = all_integers && std::regex_match(value, kInteger);
    all_dates = all_dates && std::regex_match(value, kDate);
  }
  if (all_integers) return "BIGINT";
  if (all_dates) return "DATE";
  return "VARCHAR";
}

}  // namespace loch
