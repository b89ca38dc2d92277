#pragma once
// Thin RAII helpers over the SQLite C API, private to the catalog module.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace loch::sqlite {

// A prepared statement. Bind* take 1-based indexes. Step() returns true while a row is available.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  const absl::Status& status() const { return status_; }
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view value);
  Statement& Bind(int index, const std::string& value) {
    return Bind(index, std::string_view(value));
  }
  Statement& Bind(int index, const char* value) { return Bind(index, std::string_view(value)); }
  Statement& Bind(int index, const std::optional<std::string>& value);
  Statement& BindNull(int index);

  // Advances; true if a row is available. Errors are kept in status().
  bool Step();
  // Runs to completion; the error, if any.
  absl::Status Run();

  int64_t Int(int column) const;
  bool IsNull(int column) const;
  std::string Text(int column) const;
  std::optional<std::string> OptionalText(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  absl::Status status_;
};

// Executes one or more statements without results.
absl::Status Exec(sqlite3* db, std::string_view sql);

// BEGIN ... COMMIT, rolled back unless Commit() succeeded.
class Transaction {
 public:
  Transaction(sqlite3* db, bool write) : db_(db) {
    status_ = Exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  }
  ~Transaction() {
    if (status_.ok() && !done_) Exec(db_, "ROLLBACK").IgnoreError();
  }
  const absl::Status& status() const { return status_; }
  // A COMMIT that fails (e.g. SQLITE_BUSY) leaves the transaction open: the destructor then rolls
  // it back, so the connection never stays inside a transaction.
  absl::Status Commit() {
    absl::Status committed = Exec(db_, "COMMIT");
    done_ = committed.ok();
    return committed;
  }

 private:
  sqlite3* db_;
  absl::Status status_;
  bool done_ = false;
};

// A connection of its own to the database file at `path` (`flags`: SQLITE_OPEN_READONLY, ...), with
// the catalog's 10 s busy timeout; closed when it goes. Unavailable naming the path if it cannot
// be opened.
using Connection = std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)>;
absl::StatusOr<Connection> OpenConnection(const std::string& path, int flags);

// A status for the connection's last error, with `context`.
absl::Status ErrorStatus(sqlite3* db, std::string_view context);

}  // namespace loch::sqlite
