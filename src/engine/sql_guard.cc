#include "engine/sql_guard.h"

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "engine/write_statement.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

using nlohmann::json;

const std::set<std::string, std::less<>> kAllowedTableFunctions = {
    "range", "generate_series", "unnest", "json_each", "json_tree",
};

bool IsPlainIdentifier(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

class Walker {
 public:
  explicit Walker(std::string_view sql) : sql_(sql) {}

  absl::Status Walk(const json& node) {
    if (node.is_array()) {
      for (const auto& child : node) RETURN_IF_ERROR(Walk(child));
      return absl::OkStatus();
    }
    if (!node.is_object()) return absl::OkStatus();
    if (auto it = node.find("cte_map"); it != node.end() && it->contains("map")) {
      for (const auto& entry : (*it)["map"]) ctes_.insert(Lower(entry.value("key", "")));
    }
    if (auto type = node.find("type"); type != node.end() && type->is_string()) {
      RETURN_IF_ERROR(Visit(type->get<std::string>(), node));
    }
    for (const auto& [key, child] : node.items()) RETURN_IF_ERROR(Walk(child));
    return absl::OkStatus();
  }

  StatementTables Result() const {
    StatementTables tables;
    for (const auto& name : qualified_) {
      if (std::find(tables.qualified.begin(), tables.qualified.end(), name) ==
          tables.qualified.end()) {
        tables.qualified.push_back(name);
      }
    }
    for (const auto& name : unqualified_) {
      if (!ctes_.contains(Lower(name))) tables.unqualified.push_back(name);
    }
    return tables;
  }

 private:
  std::string Where(const json& node) const {
    uint64_t location = node.value("query_location", UINT64_MAX);
    return location < sql_.size() ? " " + DescribePosition(sql_, location) : "";
  }

  absl::Status Visit(const std::string& type, const json& node) {
    if (type == "BASE_TABLE") {
      const std::string catalog = node.value("catalog_name", "");
      const std::string schema = node.value("schema_name", "");
      const std::string table = node.value("table_name", "");
      if (!catalog.empty()) {
        return absl::InvalidArgumentError(fmt::format(
            "\"{}.{}.{}\"{}: three-part names are not supported; name tables as DATABASE.TABLE",
            catalog, schema, table, Where(node)));
      }
      if (schema.empty()) {
        if (!IsPlainIdentifier(table)) {
          return absl::InvalidArgumentError(
              fmt::format("\"{}\"{}: queries read catalog tables (DATABASE.TABLE), not files; load "
                          "files with `loch load`",
                          table, Where(node)));
        }
        unqualified_.push_back(table);
      } else {
        qualified_.push_back(TableName{Lower(schema), Lower(table)});
      }
    } else if (type == "TABLE_FUNCTION") {
      const json& function = node.value("function", json::object());
      const std::string name = Lower(function.value("function_name", ""));
      if (!kAllowedTableFunctions.contains(name) || !function.value("schema", "").empty() ||
          !function.value("catalog", "").empty()) {
        return absl::PermissionDeniedError(
            fmt::format("table function {}(){} is not allowed: queries read catalog tables "
                        "(DATABASE.TABLE); allowed "
                        "table functions: range, generate_series, unnest, json_each, json_tree",
                        name, Where(function)));
      }
    } else if (type == "SHOW_REF") {
      if (!node.value("table_name", "").empty()) {
        return absl::PermissionDeniedError(
            "SHOW is not available; use `loch tables` and `loch describe`");
      }
    } else if (type == "COLUMN_DATA" || type == "DELIM_GET") {
      return absl::PermissionDeniedError(
          fmt::format("table reference of type {} is not allowed", type));
    }
    return absl::OkStatus();
  }

  std::string_view sql_;
  std::set<std::string> ctes_;
  std::vector<TableName> qualified_;
  std::vector<std::string> unqualified_;
};

}  // namespace

std::string DescribePosition(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return fmt::format("(line {}, column {})", line, offset - line_start + 1);
}

std::string RefusedStatementMessage(std::string_view sql) {
  const std::string keyword = LeadingKeyword(sql);
  if (keyword == "UPDATE" || keyword == "DELETE" || keyword == "MERGE" || keyword == "TRUNCATE" ||
      keyword == "UPSERT") {
    return fmt::format(
        "{} is not supported: loch tables change by appending rows (INSERT INTO db.t SELECT ...) "
        "or by writing a new table (CREATE TABLE db.t2 AS SELECT ...)",
        keyword);
  }
  if (keyword == "ALTER") {
    return "this ALTER statement is not one loch runs: it runs ALTER TABLE db.t RENAME TO new_name "
           "and ALTER TABLE db.t RENAME COLUMN c TO new_name; to change a view, CREATE OR REPLACE "
           "VIEW it";
  }
  if (keyword == "COMMENT") {
    return "this COMMENT statement is not one loch runs: it runs COMMENT ON TABLE db.t IS 'text' "
           "and COMMENT ON COLUMN db.t.c IS 'text'";
  }
  if (keyword == "CREATE" || keyword == "DROP" || keyword == "INSERT") {
    return fmt::format(
        "this {} statement is not one loch runs: it runs CREATE TABLE db.t AS SELECT ..., "
        "INSERT INTO db.t SELECT ..., DROP TABLE db.t, CREATE [OR REPLACE] VIEW db.v AS SELECT "
        "..., DROP VIEW db.v and CREATE DATABASE db",
        keyword);
  }
  if (keyword.empty() || keyword == "SELECT" || keyword == "WITH" || keyword == "VALUES" ||
      keyword == "DESCRIBE" || keyword == "FROM" || keyword == "TABLE") {
    return "this query cannot run: queries read catalog tables (DATABASE.TABLE) with SELECT, "
           "WITH, VALUES or DESCRIBE";
  }
  return fmt::format(
      "{} is not allowed: statements read and write catalog tables (DATABASE.TABLE) only, never "
      "files, settings, extensions or other databases",
      keyword);
}

absl::StatusOr<StatementTables> CheckUserQuery(duck::Connection& connection, std::string_view sql) {
  ASSIGN_OR_RETURN(duck::Result result, connection.Query(fmt::format(
                                            "SELECT json_serialize_sql({})", QuoteLiteral(sql))));
  ASSIGN_OR_RETURN(auto rows, result.FetchAllAsText());
  if (rows.empty() || rows[0].empty() || !rows[0][0].has_value()) {
    return absl::InternalError("the SQL parser returned nothing");
  }
  json tree = json::parse(*rows[0][0], nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded()) return absl::InternalError("the SQL parser returned unreadable output");
  if (tree.value("error", false)) {
    const std::string type = tree.value("error_type", "");
    const std::string message = tree.value("error_message", "");
    if (type == "parser") {
      std::string where;
      if (auto position = tree.find("position"); position != tree.end() && position->is_string()) {
        where = " " + DescribePosition(
                          sql, std::strtoull(position->get<std::string>().c_str(), nullptr, 10));
      }
      return absl::InvalidArgumentError(fmt::format("Parser Error: {}{}", message, where));
    }
    return absl::PermissionDeniedError(RefusedStatementMessage(sql));
  }
  const json& statements = tree["statements"];
  if (!statements.is_array() || statements.empty())
    return absl::InvalidArgumentError("the query is empty");
  if (statements.size() > 1) {
    return absl::InvalidArgumentError(fmt::format(
        "the query has {} statements; send one statement at a time", statements.size()));
  }
  Walker walker(sql);
  RETURN_IF_ERROR(walker.Walk(statements));
  StatementTables tables = walker.Result();
  tables.statement = statements[0];
  return tables;
}

}  // namespace loch
