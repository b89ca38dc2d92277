#pragma once
// The web console's saved queries and dashboards as the API takes them: validation of their JSON,
// and the binding of a dashboard's parameters into a saved query's SQL.
//
// A saved query is SQL that may name parameters as {{name}}. A dashboard is
//   {"title": "Sales", "refresh_seconds": 0,
//    "parameters": [{"name": "from", "type": "date", "default": "2026-01-01"}, ...],
//    "tiles": [{"id": "t1", "title": "Orders per day", "query": "orders_per_day",
//               "chart": "line", "x": "day", "y": ["orders"]}, ...]}
// with chart one of line, bar, area, pie, table, number. A tile runs its saved query with the
// dashboard's parameters bound as real query parameters ($1, $2, ...: typed values, never SQL
// text), so a parameter's value cannot change what the query does.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/query_parameters.h"
#include "nlohmann/json.hpp"

namespace loch {

// Names of saved queries and dashboards: 1 to 64 of [a-z0-9_-], starting with a letter or digit.
absl::Status ValidateConsoleName(std::string_view name, std::string_view what);

struct SavedQuerySpec {
  static constexpr size_t kMaxSqlBytes = 100 * 1024;
  std::string sql;
  std::string description;
};
// From a PUT body's "sql" and "description". InvalidArgument naming the field.
absl::StatusOr<SavedQuerySpec> SavedQueryFromJson(const nlohmann::json& body);
nlohmann::json SavedQueryToJson(const SavedQuerySpec& spec);

struct DashboardParameter {
  std::string name;           // [a-z_][a-z0-9_]{0,62}
  std::string type;           // "date", "text" or "number"
  std::string default_value;  // valid for its type ("" for text allowed)
};

struct DashboardTile {
  std::string id;              // [A-Za-z0-9_-]{1,32}, unique in the dashboard
  std::string title;           // up to 200 bytes
  std::string query;           // a saved query's name
  std::string chart;           // line, bar, area, pie, table, number
  std::string x;               // "" : the first column
  std::vector<std::string> y;  // empty: every numeric column but x
};

struct DashboardSpec {
  static constexpr size_t kMaxTiles = 50;
  static constexpr size_t kMaxParameters = 20;
  std::string title;
  int refresh_seconds = 0;  // 0 (off) or 10 to 86400
  std::vector<DashboardParameter> parameters;
  std::vector<DashboardTile> tiles;

  const DashboardTile* FindTile(std::string_view id) const;
};

// A dashboard definition; InvalidArgument naming the field that is wrong ("tiles[2].chart must
// be one of ...").
absl::StatusOr<DashboardSpec> DashboardFromJson(const nlohmann::json& definition);
nlohmann::json DashboardToJson(const DashboardSpec& spec);

// A saved query's SQL ready to run: its {{name}} placeholders replaced by " $1 ", " $2 ", ... (one
// number per parameter, reused where it appears again; spaced so that a placeholder never joins
// the text around it) and the values to bind, typed: DATE, VARCHAR, and BIGINT for a whole number
// (DOUBLE for another).
struct BoundSql {
  std::string sql;
  std::vector<QueryParameter> parameters;
  // The SQL with NULL in place of each placeholder: its shape without values (to find the tables
  // it reads).
  std::string sql_without_values;
};

// Binds `values` (parameter name -> value as text; a parameter without one takes its default) to
// the placeholders of `sql`. Placeholders are only recognised outside string literals, quoted
// identifiers and comments. InvalidArgument for a placeholder that names no parameter of
// `parameters`, a value that does not read as its parameter's type, a value for an unknown
// parameter, or an unterminated literal or comment.
absl::StatusOr<BoundSql> BindDashboardParameters(std::string_view sql,
                                                 const std::vector<DashboardParameter>& parameters,
                                                 const std::map<std::string, std::string>& values);

}  // namespace loch
