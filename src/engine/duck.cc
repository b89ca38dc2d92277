#include "engine/duck.h"

#include <algorithm>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch::duck {
namespace {

// DuckDB appends "LINE n: <source line>\n<spaces>^" (sometimes twice). Turn it into a position and
// keep the snippet once. Parsed by hand: the text holds the user's SQL, of any length (std::regex
// recurses per character and can overflow the stack on a long line).
std::string FormatPosition(std::string_view text) {
  constexpr std::string_view kMarker = "LINE ";
  for (size_t at = text.find(kMarker); at != std::string_view::npos;
       at = text.find(kMarker, at + 1)) {
    if (at > 0 && text[at - 1] != '\n') continue;  // only at a line's start: each line read once
    const size_t line_end = text.find('\n', at);
    if (line_end == std::string_view::npos) break;
    const size_t colon = text.substr(0, line_end).find(": ", at);
    if (colon == std::string_view::npos) continue;
    const std::optional<int64_t> line =
        ParseInteger(text.substr(at + kMarker.size(), colon - at - kMarker.size()), 1, INT32_MAX);
    size_t caret = line_end + 1;
    while (caret < text.size() && text[caret] == ' ') ++caret;
    if (!line || caret >= text.size() || text[caret] != '^') continue;
    const size_t prefix = colon + 2 - at;  // "LINE n: "
    const size_t spaces = caret - line_end - 1;
    const size_t column = spaces >= prefix ? spaces - prefix + 1 : 1;
    std::string_view head = text.substr(0, at);
    while (!head.empty() && head.back() == '\n') head.remove_suffix(1);
    const std::string_view source = text.substr(colon + 2, line_end - colon - 2);
    return fmt::format("{} (line {}, column {})\n  {}\n  {}^", head, *line, column, source,
                       std::string(std::min(column - 1, source.size()), ' '));
  }
  return std::string(text);
}

// duckdb_prepare has no error-type accessor; its messages start with the error class.
duckdb_error_type ErrorTypeFromMessage(std::string_view message) {
  static const std::pair<std::string_view, duckdb_error_type> kPrefixes[] = {
      {"Parser Error", DUCKDB_ERROR_PARSER},
      {"Binder Error", DUCKDB_ERROR_BINDER},
      {"Catalog Error", DUCKDB_ERROR_CATALOG},
      {"Conversion Error", DUCKDB_ERROR_CONVERSION},
      {"Permission Error", DUCKDB_ERROR_PERMISSION},
      {"IO Error", DUCKDB_ERROR_IO},
      {"Invalid Input Error", DUCKDB_ERROR_INVALID_INPUT},
      {"Not implemented Error", DUCKDB_ERROR_NOT_IMPLEMENTED},
      {"Out of Memory Error", DUCKDB_ERROR_OUT_OF_MEMORY},
      {"INTERRUPT Error", DUCKDB_ERROR_INTERRUPT},
  };
  for (const auto& [prefix, type] : kPrefixes) {
    if (message.starts_with(prefix)) return type;
  }
  return DUCKDB_ERROR_INVALID;
}

}  // namespace

absl::Status ErrorToStatus(duckdb_error_type type, std::string_view message) {
  std::string text = FormatPosition(message);
  switch (type) {
    case DUCKDB_ERROR_PARSER:
    case DUCKDB_ERROR_SYNTAX:
    case DUCKDB_ERROR_BINDER:
    case DUCKDB_ERROR_CATALOG:
    case DUCKDB_ERROR_CONVERSION:
    case DUCKDB_ERROR_OUT_OF_RANGE:
    case DUCKDB_ERROR_DIVIDE_BY_ZERO:
    case DUCKDB_ERROR_MISMATCH_TYPE:
    case DUCKDB_ERROR_INVALID_TYPE:
    case DUCKDB_ERROR_INVALID_INPUT:
    case DUCKDB_ERROR_DECIMAL:
    case DUCKDB_ERROR_PARAMETER_NOT_RESOLVED:
    case DUCKDB_ERROR_PARAMETER_NOT_ALLOWED:
    case DUCKDB_ERROR_NOT_IMPLEMENTED:
      return absl::InvalidArgumentError(text);
    case DUCKDB_ERROR_CONSTRAINT:
    case DUCKDB_ERROR_DEPENDENCY:
      return absl::FailedPreconditionError(text);
    case DUCKDB_ERROR_INTERRUPT:
      return absl::CancelledError(text);
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return absl::ResourceExhaustedError(text);
    case DUCKDB_ERROR_PERMISSION:
      return absl::PermissionDeniedError(text);
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_HTTP:
    case DUCKDB_ERROR_NETWORK:
      return absl::UnavailableError(text);
    case DUCKDB_ERROR_INVALID:
      return absl::InvalidArgumentError(text);
    default:
      return absl::InternalError(text);
  }
}

std::string TypeName(duckdb_logical_type type) {
  auto child_name = [](duckdb_logical_type child) {
    std::string name = TypeName(child);
    duckdb_destroy_logical_type(&child);
    return name;
  };
  switch (duckdb_get_type_id(type)) {
    case DUCKDB_TYPE_BOOLEAN:
      return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT:
      return "TINYINT";
    case DUCKDB_TYPE_SMALLINT:
      return "SMALLINT";
    case DUCKDB_TYPE_INTEGER:
      return "INTEGER";
    case DUCKDB_TYPE_BIGINT:
      return "BIGINT";
    case DUCKDB_TYPE_UTINYINT:
      return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT:
      return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER:
      return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT:
      return "UBIGINT";
    case DUCKDB_TYPE_HUGEINT:
      return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT:
      return "UHUGEINT";
    case DUCKDB_TYPE_FLOAT:
      return "FLOAT";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE";
    case DUCKDB_TYPE_DATE:
      return "DATE";
    case DUCKDB_TYPE_TIME:
      return "TIME";
    case DUCKDB_TYPE_TIME_TZ:
      return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP:
      return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_S:
      return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS:
      return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS:
      return "TIMESTAMP_NS";
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_INTERVAL:
      return "INTERVAL";
    case DUCKDB_TYPE_VARCHAR:
      return "VARCHAR";
    case DUCKDB_TYPE_BLOB:
      return "BLOB";
    case DUCKDB_TYPE_UUID:
      return "UUID";
    case DUCKDB_TYPE_BIT:
      return "BIT";
    case DUCKDB_TYPE_ENUM:
      return "VARCHAR";  // loch treats enums as strings
    case DUCKDB_TYPE_SQLNULL:
      return "NULL";
    case DUCKDB_TYPE_DECIMAL:
      return fmt::format("DECIMAL({},{})", duckdb_decimal_width(type), duckdb_decimal_scale(type));
    case DUCKDB_TYPE_LIST:
      return child_name(duckdb_list_type_child_type(type)) + "[]";
    case DUCKDB_TYPE_ARRAY:
      return fmt::format("{}[{}]", child_name(duckdb_array_type_child_type(type)),
                         duckdb_array_type_array_size(type));
    case DUCKDB_TYPE_MAP:
      return fmt::format("MAP({}, {})", child_name(duckdb_map_type_key_type(type)),
                         child_name(duckdb_map_type_value_type(type)));
    case DUCKDB_TYPE_STRUCT: {
      std::vector<std::string> fields;
      for (idx_t i = 0; i < duckdb_struct_type_child_count(type); ++i) {
        char* name = duckdb_struct_type_child_name(type, i);
        fields.push_back(fmt::format("{} {}", QuoteIdentifier(name),
                                     child_name(duckdb_struct_type_child_type(type, i))));
        duckdb_free(name);
      }
      return fmt::format("STRUCT({})", Join(fields, ", "));
    }
    default:
      return "UNKNOWN";
  }
}

absl::StatusOr<std::optional<DataChunk>> Result::Fetch() {
  duckdb_data_chunk chunk = duckdb_fetch_chunk(result_);
  if (chunk == nullptr) {
    const char* error = duckdb_result_error(&result_);
    if (error != nullptr) return ErrorToStatus(duckdb_result_error_type(&result_), error);
    return std::optional<DataChunk>();
  }
  return std::optional<DataChunk>(DataChunk(chunk));
}

absl::StatusOr<std::vector<std::vector<std::optional<std::string>>>> Result::FetchAllAsText() {
  std::vector<std::vector<std::optional<std::string>>> rows;
  const idx_t row_count = duckdb_row_count(&result_);
  const idx_t columns = duckdb_column_count(&result_);
  for (idx_t row = 0; row < row_count; ++row) {
    std::vector<std::optional<std::string>> values;
    for (idx_t column = 0; column < columns; ++column) {
      if (duckdb_value_is_null(&result_, column, row)) {
        values.emplace_back();
        continue;
      }
      char* text = duckdb_value_varchar(&result_, column, row);
      if (text == nullptr) {  // a type this API cannot print: never an empty string instead
        return absl::InternalError(
            fmt::format("cannot read column {} ({}) as text; cast it to VARCHAR in the query",
                        column, column_type(column).Name()));
      }
      values.emplace_back(std::string(text));
      duckdb_free(text);
    }
    rows.push_back(std::move(values));
  }
  return rows;
}

std::string PreparedStatement::column_name(size_t index) const {
  const char* name = duckdb_prepared_statement_column_name(statement_, index);
  if (name == nullptr) return {};
  std::string copy(name);
  duckdb_free(const_cast<char*>(name));
  return copy;
}

absl::Status PreparedStatement::Bind(size_t index, int64_t value) {
  if (duckdb_bind_int64(statement_, index, value) == DuckDBError) {
    return absl::InvalidArgumentError(fmt::format("cannot bind parameter {}", index));
  }
  return absl::OkStatus();
}

absl::Status PreparedStatement::Bind(size_t index, double value) {
  if (duckdb_bind_double(statement_, index, value) == DuckDBError) {
    return absl::InvalidArgumentError(fmt::format("cannot bind parameter {}", index));
  }
  return absl::OkStatus();
}

absl::Status PreparedStatement::Bind(size_t index, std::string_view value) {
  if (duckdb_bind_varchar_length(statement_, index, value.data(), value.size()) == DuckDBError) {
    return absl::InvalidArgumentError(fmt::format("cannot bind parameter {}", index));
  }
  return absl::OkStatus();
}

absl::Status PreparedStatement::BindBool(size_t index, bool value) {
  if (duckdb_bind_boolean(statement_, index, value) == DuckDBError) {
    return absl::InvalidArgumentError(fmt::format("cannot bind parameter {}", index));
  }
  return absl::OkStatus();
}

absl::Status PreparedStatement::BindNull(size_t index) {
  if (duckdb_bind_null(statement_, index) == DuckDBError) {
    return absl::InvalidArgumentError(fmt::format("cannot bind parameter {}", index));
  }
  return absl::OkStatus();
}

absl::StatusOr<Result> PreparedStatement::ExecuteStreaming() {
  duckdb_pending_result pending;
  if (duckdb_pending_prepared_streaming(statement_, &pending) == DuckDBError) {
    std::string error = duckdb_pending_error(pending);
    duckdb_destroy_pending(&pending);
    return ErrorToStatus(ErrorTypeFromMessage(error), error);
  }
  duckdb_result result;
  duckdb_state state = duckdb_execute_pending(pending, &result);
  duckdb_destroy_pending(&pending);
  Result owned(result);
  if (state == DuckDBError)
    return ErrorToStatus(duckdb_result_error_type(&result), duckdb_result_error(&result));
  return owned;
}

absl::StatusOr<Result> PreparedStatement::Execute() {
  duckdb_result result;
  duckdb_state state = duckdb_execute_prepared(statement_, &result);
  Result owned(result);
  if (state == DuckDBError)
    return ErrorToStatus(duckdb_result_error_type(&result), duckdb_result_error(&result));
  return owned;
}

absl::StatusOr<Appender> Appender::Create(Connection& connection, std::string_view schema,
                                          std::string_view table) {
  duckdb_appender appender;
  std::string schema_name(schema), table_name(table);
  duckdb_state state =
      duckdb_appender_create(connection.get(), schema_name.c_str(), table_name.c_str(), &appender);
  if (state == DuckDBError) {
    std::string error = duckdb_appender_error(appender);
    duckdb_appender_destroy(&appender);
    return absl::InvalidArgumentError(
        fmt::format("cannot append to {}.{}: {}", schema, table, error));
  }
  return Appender(appender);
}

Appender::~Appender() {
  if (appender_ != nullptr) duckdb_appender_destroy(&appender_);
}

absl::Status Appender::Check(duckdb_state state) {
  if (state == DuckDBSuccess) return absl::OkStatus();
  const char* error = duckdb_appender_error(appender_);
  return absl::InvalidArgumentError(
      fmt::format("append failed: {}", error != nullptr ? error : "unknown error"));
}

absl::Status Appender::Append(int64_t value) {
  return Check(duckdb_append_int64(appender_, value));
}
absl::Status Appender::Append(double value) {
  return Check(duckdb_append_double(appender_, value));
}
absl::Status Appender::Append(std::string_view value) {
  return Check(duckdb_append_varchar_length(appender_, value.data(), value.size()));
}
absl::Status Appender::AppendNull() { return Check(duckdb_append_null(appender_)); }
absl::Status Appender::EndRow() { return Check(duckdb_appender_end_row(appender_)); }
absl::Status Appender::Flush() { return Check(duckdb_appender_flush(appender_)); }
absl::Status Appender::Close() { return Check(duckdb_appender_close(appender_)); }

absl::StatusOr<Database> Database::OpenInMemory(
    const std::vector<std::pair<std::string, std::string>>& options) {
  duckdb_config config;
  if (duckdb_create_config(&config) == DuckDBError)
    return absl::InternalError("cannot create DuckDB config");
  for (const auto& [name, value] : options) {
    if (duckdb_set_config(config, name.c_str(), value.c_str()) == DuckDBError) {
      duckdb_destroy_config(&config);
      return absl::InvalidArgumentError(fmt::format("DuckDB rejected option {}={}", name, value));
    }
  }
  duckdb_database database;
  char* error = nullptr;
  duckdb_state state = duckdb_open_ext(nullptr, &database, config, &error);
  duckdb_destroy_config(&config);
  if (state == DuckDBError) {
    std::string message = error != nullptr ? error : "unknown error";
    duckdb_free(error);
    return absl::InternalError(fmt::format("cannot open DuckDB: {}", message));
  }
  return Database(database);
}

absl::StatusOr<Connection> Connection::Open(const Database& database) {
  duckdb_connection connection;
  if (duckdb_connect(database.get(), &connection) == DuckDBError) {
    return absl::InternalError("cannot connect to DuckDB");
  }
  return Connection(connection);
}

absl::Status Connection::Execute(std::string_view sql) { return Query(sql).status(); }

absl::StatusOr<Result> Connection::Query(std::string_view sql) {
  std::string text(sql);
  duckdb_result result;
  duckdb_state state = duckdb_query(connection_, text.c_str(), &result);
  Result owned(result);
  if (state == DuckDBError)
    return ErrorToStatus(duckdb_result_error_type(&result), duckdb_result_error(&result));
  return owned;
}

absl::StatusOr<PreparedStatement> Connection::Prepare(std::string_view sql) {
  std::string text(sql);
  duckdb_prepared_statement statement;
  duckdb_state state = duckdb_prepare(connection_, text.c_str(), &statement);
  PreparedStatement owned(statement);
  if (state == DuckDBError) {
    const char* error = duckdb_prepare_error(statement);
    std::string message = error != nullptr ? error : "prepare failed";
    return ErrorToStatus(ErrorTypeFromMessage(message), message);
  }
  return owned;
}

}  // namespace loch::duck
