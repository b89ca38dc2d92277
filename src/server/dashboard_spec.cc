#include "server/dashboard_spec.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <set>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

namespace {

using nlohmann::json;

constexpr size_t kMaxTitleBytes = 200;
constexpr size_t kMaxDescriptionBytes = 2000;
constexpr size_t kMaxTextValueBytes = 1000;
const std::set<std::string, std::less<>> kCharts = {"line", "bar",   "area",
                                                    "pie",  "table", "number"};
const std::set<std::string, std::less<>> kParameterTypes = {"date", "text", "number"};

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-z_][a-z0-9_]{0,62}
bool IsParameterName(std::string_view name) {
  if (name.empty() || name.size() > 63 || !(IsLower(name[0]) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLower(c) || IsDigit(c) || c == '_'; });
}

// [A-Za-z0-9_-]{1,32}
bool IsTileId(std::string_view id) {
  return !id.empty() && id.size() <= 32 && std::all_of(id.begin(), id.end(), [](char c) {
    return IsLower(c) || IsDigit(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
  });
}

absl::Status FieldError(std::string_view field, std::string_view problem) {
  return absl::InvalidArgumentError(fmt::format("{} {}", field, problem));
}

// The string at `object[key]` (which must be one, of at most `max_bytes`), or `fallback` if
// absent or null.
absl::StatusOr<std::string> StringField(const json& object, const char* key, std::string_view field,
                                        size_t max_bytes, std::string fallback = "") {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_string()) return FieldError(field, "must be a string");
  std::string value = it->get<std::string>();
  if (value.size() > max_bytes) {
    return FieldError(field, fmt::format("must be at most {} bytes", max_bytes));
  }
  return value;
}

// Why `value` is not a value of parameter type `type`; "" if it is one.
std::string ValueProblem(std::string_view type, std::string_view value) {
  if (type == "text") {
    if (value.size() > kMaxTextValueBytes) {
      return fmt::format("is longer than {} bytes", kMaxTextValueBytes);
    }
    return value.find('\0') == std::string_view::npos ? "" : "holds a NUL character";
  }
  if (type == "number") {
    double number = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (value.empty() || error != std::errc() || end != value.data() + value.size() ||
        !std::isfinite(number)) {
      return "is not a number";
    }
    return "";
  }
  // date: YYYY-MM-DD, a day of the calendar.
  const auto digits = [&](size_t from, size_t count) {
    return std::all_of(value.begin() + from, value.begin() + from + count, IsDigit);
  };
  if (value.size() != 10 || value[4] != '-' || value[7] != '-' || !digits(0, 4) || !digits(5, 2) ||
      !digits(8, 2)) {
    return "is not a date (YYYY-MM-DD)";
  }
  const auto number = [&](size_t from, size_t count) {
    int n = 0;
    std::from_chars(value.data() + from, value.data() + from + count, n);
    return n;
  };
  const std::chrono::year_month_day day{std::chrono::year(number(0, 4)),
                                        std::chrono::month(number(5, 2)),
                                        std::chrono::day(number(8, 2))};
  return day.ok() ? "" : "is not a day of the calendar";
}

// The type a value of a parameter is bound as: a whole number as BIGINT (a DOUBLE would round
// past 2^53 and match the wrong rows), another number as DOUBLE.
const char* DuckDbType(std::string_view type, std::string_view value) {
  if (type == "date") return "DATE";
  if (type == "number") return ParseInteger(value).has_value() ? "BIGINT" : "DOUBLE";
  return "VARCHAR";
}

absl::StatusOr<DashboardParameter> ParameterFromJson(const json& object, size_t index) {
  const std::string field = fmt::format("parameters[{}]", index);
  if (!object.is_object()) return FieldError(field, "must be an object");
  DashboardParameter parameter;
  ASSIGN_OR_RETURN(parameter.name, StringField(object, "name", field + ".name", 63));
  if (!IsParameterName(parameter.name)) {
    return FieldError(field + ".name",
                      "must be 1 to 63 of a-z, 0-9 and _, not starting with a digit");
  }
  ASSIGN_OR_RETURN(parameter.type, StringField(object, "type", field + ".type", 16, "text"));
  if (!kParameterTypes.contains(parameter.type)) {
    return FieldError(field + ".type", "must be date, text or number");
  }
  ASSIGN_OR_RETURN(parameter.default_value,
                   StringField(object, "default", field + ".default", kMaxTextValueBytes));
  if (!(parameter.type == "text" && parameter.default_value.empty())) {
    if (const std::string problem = ValueProblem(parameter.type, parameter.default_value);
        !problem.empty()) {
      return FieldError(field + ".default",
                        fmt::format("\"{}\" {}", parameter.default_value, problem));
    }
  }
  return parameter;
}

absl::StatusOr<DashboardTile> TileFromJson(const json& object, size_t index) {
  const std::string field = fmt::format("tiles[{}]", index);
  if (!object.is_object()) return FieldError(field, "must be an object");
  DashboardTile tile;
  ASSIGN_OR_RETURN(tile.id, StringField(object, "id", field + ".id", 32));
  if (!IsTileId(tile.id))
    return FieldError(field + ".id", "must be 1 to 32 of A-Z, a-z, 0-9, _ and -");
  ASSIGN_OR_RETURN(tile.title, StringField(object, "title", field + ".title", kMaxTitleBytes));
  ASSIGN_OR_RETURN(tile.query, StringField(object, "query", field + ".query", 64));
  RETURN_IF_ERROR(ValidateConsoleName(tile.query, field + ".query"));
  ASSIGN_OR_RETURN(tile.chart, StringField(object, "chart", field + ".chart", 16, "table"));
  if (!kCharts.contains(tile.chart)) {
    return FieldError(field + ".chart", "must be one of line, bar, area, pie, table, number");
  }
  ASSIGN_OR_RETURN(tile.x, StringField(object, "x", field + ".x", 256));
  if (const auto it = object.find("y"); it != object.end() && !it->is_null()) {
    if (!it->is_array() || it->size() > 20) {
      return FieldError(field + ".y", "must be a list of at most 20 column names");
    }
    for (const json& column : *it) {
      if (!column.is_string() || column.get<std::string>().empty() ||
          column.get<std::string>().size() > 256) {
        return FieldError(field + ".y", "must hold column names");
      }
      tile.y.push_back(column.get<std::string>());
    }
  }
  return tile;
}

// Scans SQL for {{name}} placeholders outside literals, identifiers and comments.
class PlaceholderScanner {
 public:
  explicit PlaceholderScanner(std::string_view sql) : sql_(sql) {}

  // Calls `on_text(piece)` for SQL text and `on_placeholder(name)` for each placeholder, in order.
  template <typename OnText, typename OnPlaceholder>
  absl::Status Scan(OnText on_text, OnPlaceholder on_placeholder) {
    size_t copied = 0;
    size_t at = 0;
    while (at < sql_.size()) {
      const char c = sql_[at];
      if (c == '\'' || c == '"') {
        ASSIGN_OR_RETURN(at, SkipQuoted(at, c));
      } else if (sql_.substr(at, 2) == "--") {
        const size_t end = sql_.find('\n', at);
        at = end == std::string_view::npos ? sql_.size() : end + 1;
      } else if (sql_.substr(at, 2) == "/*") {
        const size_t end = sql_.find("*/", at + 2);
        if (end == std::string_view::npos) return Unterminated("comment", at);
        at = end + 2;
      } else if (sql_.substr(at, 2) == "{{") {
        const size_t end = sql_.find("}}", at + 2);
        constexpr size_t kMaxPlaceholderBytes = 80;
        if (end == std::string_view::npos || end - at > kMaxPlaceholderBytes) {
          return absl::InvalidArgumentError(
              fmt::format("\"{{{{\" at byte {} of the query opens no {{{{parameter}}}}", at + 1));
        }
        std::string_view name = sql_.substr(at + 2, end - at - 2);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
        if (!IsParameterName(name)) {
          return absl::InvalidArgumentError(fmt::format(
              "{} in the query is not a parameter: a parameter is {{{{name}}}} with a name of "
              "a-z, 0-9 and _",
              sql_.substr(at, end + 2 - at)));
        }
        on_text(sql_.substr(copied, at - copied));
        RETURN_IF_ERROR(on_placeholder(name));
        at = end + 2;
        copied = at;
      } else {
        ++at;
      }
    }
    on_text(sql_.substr(copied));
    return absl::OkStatus();
  }

 private:
  // Past the quoted literal or identifier that starts at `at` (a doubled quote stays inside).
  absl::StatusOr<size_t> SkipQuoted(size_t at, char quote) const {
    size_t end = at + 1;
    while (true) {
      end = sql_.find(quote, end);
      if (end == std::string_view::npos) {
        return Unterminated(quote == '\'' ? "string literal" : "quoted identifier", at);
      }
      if (end + 1 < sql_.size() && sql_[end + 1] == quote) {
        end += 2;
        continue;
      }
      return end + 1;
    }
  }

  absl::Status Unterminated(std::string_view what, size_t at) const {
    return absl::InvalidArgumentError(
        fmt::format("the {} at byte {} of the query does not end", what, at + 1));
  }

  std::string_view sql_;
};

}  // namespace

absl::Status ValidateConsoleName(std::string_view name, std::string_view what) {
  const bool valid = !name.empty() && name.size() <= 64 && (IsLower(name[0]) || IsDigit(name[0])) &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return IsLower(c) || IsDigit(c) || c == '_' || c == '-';
                     });
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "{} must be 1 to 64 of a-z, 0-9, _ and -, starting with a letter or digit", what));
}

absl::StatusOr<SavedQuerySpec> SavedQueryFromJson(const json& body) {
  if (!body.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  SavedQuerySpec spec;
  ASSIGN_OR_RETURN(spec.sql, StringField(body, "sql", "sql", SavedQuerySpec::kMaxSqlBytes));
  if (spec.sql.find_first_not_of(" \t\r\n") == std::string::npos) {
    return FieldError("sql", "must not be empty");
  }
  ASSIGN_OR_RETURN(spec.description,
                   StringField(body, "description", "description", kMaxDescriptionBytes));
  return spec;
}

json SavedQueryToJson(const SavedQuerySpec& spec) {
  return {{"sql", spec.sql}, {"description", spec.description}};
}

const DashboardTile* DashboardSpec::FindTile(std::string_view id) const {
  for (const DashboardTile& tile : tiles) {
    if (tile.id == id) return &tile;
  }
  return nullptr;
}

absl::StatusOr<DashboardSpec> DashboardFromJson(const json& definition) {
  if (!definition.is_object()) return FieldError("definition", "must be a JSON object");
  DashboardSpec spec;
  ASSIGN_OR_RETURN(spec.title, StringField(definition, "title", "title", kMaxTitleBytes));
  if (const auto it = definition.find("refresh_seconds");
      it != definition.end() && !it->is_null()) {
    const bool whole = it->is_number_integer() || it->is_number_unsigned();
    const int64_t seconds = whole ? it->get<int64_t>() : -1;
    if (!(seconds == 0 || (seconds >= 10 && seconds <= 86400))) {
      return FieldError("refresh_seconds", "must be 0 (off) or a whole number from 10 to 86400");
    }
    spec.refresh_seconds = static_cast<int>(seconds);
  }
  const auto list = [&](const char* key, size_t max) -> absl::StatusOr<const json*> {
    static const json kEmpty = json::array();
    const auto it = definition.find(key);
    if (it == definition.end() || it->is_null()) return &kEmpty;
    if (!it->is_array() || it->size() > max) {
      return FieldError(key, fmt::format("must be a list of at most {}", max));
    }
    return &*it;
  };
  ASSIGN_OR_RETURN(const json* parameters, list("parameters", DashboardSpec::kMaxParameters));
  std::set<std::string> names;
  for (size_t i = 0; i < parameters->size(); ++i) {
    ASSIGN_OR_RETURN(DashboardParameter parameter, ParameterFromJson((*parameters)[i], i));
    if (!names.insert(parameter.name).second) {
      return FieldError(fmt::format("parameters[{}].name", i),
                        fmt::format("\"{}\" is given twice", parameter.name));
    }
    spec.parameters.push_back(std::move(parameter));
  }
  ASSIGN_OR_RETURN(const json* tiles, list("tiles", DashboardSpec::kMaxTiles));
  std::set<std::string> ids;
  for (size_t i = 0; i < tiles->size(); ++i) {
    ASSIGN_OR_RETURN(DashboardTile tile, TileFromJson((*tiles)[i], i));
    if (!ids.insert(tile.id).second) {
      return FieldError(fmt::format("tiles[{}].id", i),
                        fmt::format("\"{}\" is given twice", tile.id));
    }
    spec.tiles.push_back(std::move(tile));
  }
  return spec;
}

json DashboardToJson(const DashboardSpec& spec) {
  json parameters = json::array();
  for (const DashboardParameter& parameter : spec.parameters) {
    parameters.push_back(
        {{"name", parameter.name}, {"type", parameter.type}, {"default", parameter.default_value}});
  }
  json tiles = json::array();
  for (const DashboardTile& tile : spec.tiles) {
    json out{{"id", tile.id}, {"title", tile.title}, {"query", tile.query}, {"chart", tile.chart}};
    if (!tile.x.empty()) out["x"] = tile.x;
    if (!tile.y.empty()) out["y"] = tile.y;
    tiles.push_back(std::move(out));
  }
  return {{"title", spec.title},
          {"refresh_seconds", spec.refresh_seconds},
          {"parameters", parameters},
          {"tiles", tiles}};
}

absl::StatusOr<BoundSql> BindDashboardParameters(std::string_view sql,
                                                 const std::vector<DashboardParameter>& parameters,
                                                 const std::map<std::string, std::string>& values) {
  for (const auto& given : values) {
    const bool known =
        std::any_of(parameters.begin(), parameters.end(),
                    [&](const DashboardParameter& p) { return p.name == given.first; });
    if (!known) {
      return absl::InvalidArgumentError(
          fmt::format("the dashboard has no parameter \"{}\"", given.first));
    }
  }
  BoundSql bound;
  std::map<std::string, size_t, std::less<>> numbers;  // parameter name -> its $N
  const absl::Status scanned = PlaceholderScanner(sql).Scan(
      [&](std::string_view text) {
        bound.sql += text;
        bound.sql_without_values += text;
      },
      [&](std::string_view name) -> absl::Status {
        const auto parameter =
            std::find_if(parameters.begin(), parameters.end(),
                         [&](const DashboardParameter& p) { return p.name == name; });
        if (parameter == parameters.end()) {
          return absl::InvalidArgumentError(fmt::format(
              "the query uses {{{{{}}}}}, which is not a parameter of the dashboard", name));
        }
        auto number = numbers.find(name);
        if (number == numbers.end()) {
          const auto given = values.find(parameter->name);
          const std::string& value =
              given == values.end() ? parameter->default_value : given->second;
          if (const std::string problem = ValueProblem(parameter->type, value); !problem.empty()) {
            return absl::InvalidArgumentError(
                fmt::format("parameter {}: \"{}\" {}", parameter->name, value, problem));
          }
          bound.parameters.push_back(QueryParameter{value, DuckDbType(parameter->type, value)});
          number = numbers.emplace(std::string(name), bound.parameters.size()).first;
        }
        // Spaced: "x{{n}}" must not become the identifier x$1 (or xNULL).
        bound.sql += fmt::format(" ${} ", number->second);
        bound.sql_without_values += " NULL ";
        return absl::OkStatus();
      });
  RETURN_IF_ERROR(scanned);
  return bound;
}

}  // namespace loch
