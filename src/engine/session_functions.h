#pragma once
// The functions PostgreSQL clients, drivers and BI tools call on connect (`SELECT version()`,
// `current_database()`, `current_user`), answered the same way by every query path: lake queries,
// the PostgreSQL catalog emulation, views. DuckDB's own answers ("v1.4.4", "memory", "duckdb")
// would tell a client nothing true about loch.

#include <string>

namespace loch {

// The version string `version()` returns (PostgreSQL-shaped: clients parse "PostgreSQL 15.0").
std::string LochVersionText();
// The database name clients see (`current_database()`); the lake's databases are its schemas.
extern const char* const kLochDatabaseName;

// SQL (several statements) defining, on one DuckDB connection, version(), current_database(),
// current_user and session_user for `user`. Temporary macros: they shadow DuckDB's built-ins on
// that connection only, whatever catalog it uses.
std::string SessionFunctionsSql(const std::string& user);

}  // namespace loch
