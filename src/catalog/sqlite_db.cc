#include "catalog/sqlite_db.h"

#include "fmt/format.h"

namespace loch::sqlite {

absl::StatusOr<Connection> OpenConnection(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Connection connection(db, &sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(fmt::format("cannot open \"{}\": {}", path,
                                              db != nullptr ? sqlite3_errmsg(db) : "no memory"));
  }
  sqlite3_busy_timeout(db, 10000);
  return connection;
}

absl::Status ErrorStatus(sqlite3* db, std::string_view context) {
  int code = sqlite3_extended_errcode(db);
  std::string message = fmt::format("catalog: {}: {}", context, sqlite3_errmsg(db));
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message + " (the catalog is busy; retry)");
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    status_ = ErrorStatus(db, fmt::format("preparing \"{}\"", sql));
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, int64_t value) {
  if (status_.ok()) sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  if (status_.ok()) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<std::string>& value) {
  return value.has_value() ? Bind(index, std::string_view(*value)) : BindNull(index);
}

Statement& Statement::BindNull(int index) {
  if (status_.ok()) sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::Step() {
  if (!status_.ok()) return false;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = ErrorStatus(db_, "executing statement");
  return false;
}

absl::Status Statement::Run() {
  while (Step()) {
  }
  return status_;
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

absl::Status Exec(sqlite3* db, std::string_view sql) {
  std::string owned(sql);
  char* error = nullptr;
  if (sqlite3_exec(db, owned.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    absl::Status status = ErrorStatus(db, fmt::format("executing \"{}\"", sql.substr(0, 80)));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

}  // namespace loch::sqlite
