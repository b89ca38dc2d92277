#pragma once
// RAII wrappers over the DuckDB C API. The only place in loch that includes duckdb.h.
//
// Every DuckDB failure becomes an absl::Status (see ErrorToStatus). Objects are move-only; each
// owns exactly one DuckDB handle and releases it in its destructor. Thread-safety: a Database may
// be shared; a Connection (and its results) must be used by one thread at a time, except
// Interrupt(), which may be called from any thread.

#include <duckdb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace loch::duck {

// Maps a DuckDB error to a Status: parser/binder/catalog errors -> InvalidArgument, interrupts ->
// Cancelled, out of memory -> ResourceExhausted, permission -> PermissionDenied, I/O ->
// Unavailable, conversions and other data errors -> InvalidArgument ("FailedPrecondition" for
// constraint/dependency), the rest -> Internal. The message keeps DuckDB's text; a "LINE n:" caret
// block becomes
// "(line L, column C)" followed by the snippet once.
absl::Status ErrorToStatus(duckdb_error_type type, std::string_view message);

// A readable DuckDB type name for a logical type, e.g. "DECIMAL(18,2)", "STRUCT(a INTEGER)",
// "BIGINT[]".
std::string TypeName(duckdb_logical_type type);

class LogicalType {
 public:
  explicit LogicalType(duckdb_logical_type type) : type_(type) {}
  LogicalType(LogicalType&& other) noexcept : type_(std::exchange(other.type_, nullptr)) {}
  LogicalType& operator=(LogicalType&&) = delete;
  ~LogicalType() {
    if (type_ != nullptr) duckdb_destroy_logical_type(&type_);
  }
  duckdb_logical_type get() const { return type_; }
  duckdb_type id() const { return duckdb_get_type_id(type_); }
  std::string Name() const { return TypeName(type_); }

 private:
  duckdb_logical_type type_;
};

class DataChunk {
 public:
  explicit DataChunk(duckdb_data_chunk chunk) : chunk_(chunk) {}
  DataChunk(DataChunk&& other) noexcept : chunk_(std::exchange(other.chunk_, nullptr)) {}
  DataChunk& operator=(DataChunk&& other) noexcept {
    std::swap(chunk_, other.chunk_);
    return *this;
  }
  ~DataChunk() {
    if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
  }
  size_t size() const { return duckdb_data_chunk_get_size(chunk_); }
  duckdb_vector column(size_t index) const { return duckdb_data_chunk_get_vector(chunk_, index); }

 private:
  duckdb_data_chunk chunk_;
};

// A query result, materialized or streaming. Read it chunk by chunk with Fetch().
class Result {
 public:
  Result() = default;
  explicit Result(duckdb_result result) : result_(result), valid_(true) {}
  Result(Result&& other) noexcept
      : result_(other.result_), valid_(std::exchange(other.valid_, false)) {}
  Result& operator=(Result&& other) noexcept {
    std::swap(result_, other.result_);
    std::swap(valid_, other.valid_);
    return *this;
  }
  ~Result() {
    if (valid_) duckdb_destroy_result(&result_);
  }

  size_t column_count() { return duckdb_column_count(&result_); }
  std::string column_name(size_t index) { return duckdb_column_name(&result_, index); }
  LogicalType column_type(size_t index) {
    return LogicalType(duckdb_column_logical_type(&result_, index));
  }

  // The next chunk, nullopt at the end, or the error that stopped execution (e.g. an interrupt).
  absl::StatusOr<std::optional<DataChunk>> Fetch();

  // Convenience for small internal queries: every value as text (NULL as nullopt), row-major.
  absl::StatusOr<std::vector<std::vector<std::optional<std::string>>>> FetchAllAsText();

 private:
  duckdb_result result_{};
  bool valid_ = false;
};

class PreparedStatement {
 public:
  explicit PreparedStatement(duckdb_prepared_statement statement) : statement_(statement) {}
  PreparedStatement(PreparedStatement&& other) noexcept
      : statement_(std::exchange(other.statement_, nullptr)) {}
  PreparedStatement& operator=(PreparedStatement&&) = delete;
  ~PreparedStatement() {
    if (statement_ != nullptr) duckdb_destroy_prepare(&statement_);
  }

  duckdb_statement_type type() const { return duckdb_prepared_statement_type(statement_); }
  size_t parameter_count() const { return duckdb_nparams(statement_); }
  size_t column_count() const { return duckdb_prepared_statement_column_count(statement_); }
  // (DuckDB returns a malloc'd copy here, unlike duckdb_column_name; ASan found the leak.)
  std::string column_name(size_t index) const;
  LogicalType column_type(size_t index) const {
    return LogicalType(duckdb_prepared_statement_column_logical_type(statement_, index));
  }

  // Binds 1-based parameter `index`.
  absl::Status Bind(size_t index, int64_t value);
  absl::Status Bind(size_t index, double value);
  absl::Status Bind(size_t index, std::string_view value);
  absl::Status BindBool(size_t index, bool value);  // (not Bind: an int would be ambiguous)
  absl::Status BindNull(size_t index);

  // Executes and returns a streaming result: chunks are produced as they are fetched.
  absl::StatusOr<Result> ExecuteStreaming();
  // Executes and materializes the whole result.
  absl::StatusOr<Result> Execute();

 private:
  duckdb_prepared_statement statement_;
};

class Connection;

// Appends rows to a table quickly (bypassing SQL). Values are appended column by column; EndRow()
// finishes a row. Flush() (also done on Close/destruction) makes them visible.
class Appender {
 public:
  static absl::StatusOr<Appender> Create(Connection& connection, std::string_view schema,
                                         std::string_view table);
  Appender(Appender&& other) noexcept : appender_(std::exchange(other.appender_, nullptr)) {}
  Appender& operator=(Appender&&) = delete;
  ~Appender();

  absl::Status Append(int64_t value);
  absl::Status Append(double value);
  absl::Status Append(std::string_view value);
  absl::Status AppendNull();
  absl::Status EndRow();
  absl::Status Flush();
  absl::Status Close();

 private:
  explicit Appender(duckdb_appender appender) : appender_(appender) {}
  absl::Status Check(duckdb_state state);
  duckdb_appender appender_;
};

class Database {
 public:
  // Opens an in-memory database with the given configuration options (name -> value), e.g.
  // {"threads", "2"}. Fails with the option's error if one is rejected.
  static absl::StatusOr<Database> OpenInMemory(
      const std::vector<std::pair<std::string, std::string>>& options);
  Database(Database&& other) noexcept : database_(std::exchange(other.database_, nullptr)) {}
  Database& operator=(Database&&) = delete;
  ~Database() {
    if (database_ != nullptr) duckdb_close(&database_);
  }
  duckdb_database get() const { return database_; }

 private:
  explicit Database(duckdb_database database) : database_(database) {}
  duckdb_database database_;
};

class Connection {
 public:
  static absl::StatusOr<Connection> Open(const Database& database);
  Connection(Connection&& other) noexcept
      : connection_(std::exchange(other.connection_, nullptr)) {}
  Connection& operator=(Connection&&) = delete;
  ~Connection() {
    if (connection_ != nullptr) duckdb_disconnect(&connection_);
  }

  // Runs `sql` (one or more statements) and discards results.
  absl::Status Execute(std::string_view sql);
  // Runs `sql` and returns its materialized result.
  absl::StatusOr<Result> Query(std::string_view sql);
  absl::StatusOr<PreparedStatement> Prepare(std::string_view sql);
  // Stops the running query on this connection; it fails with Cancelled. Safe from any thread.
  void Interrupt() { duckdb_interrupt(connection_); }
  duckdb_connection get() const { return connection_; }

 private:
  explicit Connection(duckdb_connection connection) : connection_(connection) {}
  duckdb_connection connection_;
};

}  // namespace loch::duck
