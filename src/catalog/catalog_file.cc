#include "catalog/catalog_file.h"

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/numbers.h"
#include "catalog/sqlite_db.h"
#include "common/content_hash.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

using sqlite::Connection;

std::string Quoted(const std::string& identifier) {
  std::string quoted = "\"";
  for (char c : identifier) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// Feeds one value to `hash` with its type and length, so no two different rows hash alike.
void HashValue(sqlite3_stmt* row, int column, Sha256& hash) {
  const int type = sqlite3_column_type(row, column);
  std::string_view bytes;
  std::string text;
  switch (type) {
    case SQLITE_INTEGER:
      text = std::to_string(sqlite3_column_int64(row, column));
      break;
    case SQLITE_FLOAT:
      text = fmt::format("{}", sqlite3_column_double(row, column));
      break;
    case SQLITE_NULL:
      break;
    default:  // TEXT and BLOB: their bytes
      bytes = std::string_view(static_cast<const char*>(sqlite3_column_blob(row, column)),
                               static_cast<size_t>(sqlite3_column_bytes(row, column)));
  }
  if (bytes.empty()) bytes = text;
  hash.Update(fmt::format("{}:{}:", type, bytes.size()));
  hash.Update(bytes);
}

}  // namespace

absl::Status CopyCatalogFile(const std::string& catalog_path, const std::string& out_path) {
  std::error_code unreadable;
  if (std::filesystem::exists(out_path, unreadable) || unreadable)
    return absl::AlreadyExistsError(fmt::format("\"{}\" already exists", out_path));
  ASSIGN_OR_RETURN(Connection db, sqlite::OpenConnection(catalog_path, SQLITE_OPEN_READONLY));
  sqlite::Statement copy(db.get(), "VACUUM INTO ?");
  copy.Bind(1, out_path);
  return Annotate(copy.Run(), fmt::format("copying the catalog to \"{}\"", out_path));
}

absl::StatusOr<CatalogFileSummary> InspectCatalogFile(const std::string& path,
                                                      const std::set<std::string>& skip_tables) {
  std::error_code unreadable;
  if (!std::filesystem::is_regular_file(path, unreadable))
    return absl::NotFoundError(fmt::format("no catalog file at \"{}\"", path));
  ASSIGN_OR_RETURN(Connection db, sqlite::OpenConnection(path, SQLITE_OPEN_READONLY));
  {
    sqlite::Statement check(db.get(), "PRAGMA integrity_check");
    if (!check.Step()) {
      return absl::DataLossError(
          fmt::format("\"{}\" is not a SQLite catalog: {}", path, ToStd(check.status().message())));
    }
    if (const std::string verdict = check.Text(0); verdict != "ok")
      return absl::DataLossError(fmt::format("\"{}\" is damaged: {}", path, verdict));
  }
  CatalogFileSummary summary;
  {
    sqlite::Statement format(db.get(),
                             "SELECT value FROM catalog_meta WHERE key = 'format_version'");
    if (!format.Step()) {
      return absl::DataLossError(
          fmt::format("\"{}\" is not a loch catalog (no format version)", path));
    }
    if (!absl::SimpleAtoi(format.Text(0), &summary.format)) {
      return absl::DataLossError(
          fmt::format("\"{}\" has a malformed format version \"{}\"", path, format.Text(0)));
    }
  }
  std::vector<std::string> tables;
  {
    sqlite::Statement names(db.get(),
                            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT "
                            "LIKE 'sqlite_%' ORDER BY name");
    while (names.Step())
      if (!skip_tables.contains(names.Text(0))) tables.push_back(names.Text(0));
    RETURN_IF_ERROR(names.status());
  }
  Sha256 hash;
  {
    // The schema too: tables, indexes and anything else a copy could carry.
    sqlite::Statement schema(db.get(),
                             "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema "
                             "ORDER BY type, name");
    while (schema.Step()) {
      for (int column = 0; column < 4; ++column) {
        const std::string text = schema.Text(column);
        hash.Update(fmt::format("{}:", text.size()));
        hash.Update(text);
      }
    }
    RETURN_IF_ERROR(schema.status());
  }
  for (const std::string& table : tables) {
    // Every column in order: the same rows sort the same in any file.
    std::vector<std::string> order;
    {
      sqlite::Statement columns(db.get(), fmt::format("PRAGMA table_info({})", Quoted(table)));
      while (columns.Step()) order.push_back(std::to_string(order.size() + 1));
      RETURN_IF_ERROR(columns.status());
    }
    hash.Update(fmt::format("table:{}:{}\n", table, order.size()));
    sqlite3_stmt* raw = nullptr;
    const std::string sql =
        fmt::format("SELECT * FROM {} ORDER BY {}", Quoted(table), fmt::join(order, ", "));
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK)
      return sqlite::ErrorStatus(db.get(), "reading " + table);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> rows(raw, &sqlite3_finalize);
    int64_t count = 0;
    int rc;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      for (int column = 0; column < sqlite3_column_count(raw); ++column)
        HashValue(raw, column, hash);
      ++count;
    }
    if (rc != SQLITE_DONE) return sqlite::ErrorStatus(db.get(), "reading " + table);
    summary.rows[table] = count;
  }
  summary.digest = hash.HexDigest();
  if (summary.rows.contains("streams")) {
    sqlite::Statement streams(db.get(), "SELECT name, created_micros FROM streams ORDER BY name");
    while (streams.Step()) summary.streams.emplace_back(streams.Text(0), streams.Int(1));
    RETURN_IF_ERROR(streams.status());
  }
  return summary;
}

absl::Status RestoreCatalogFile(const std::string& copy_path, const std::string& catalog_path) {
  ASSIGN_OR_RETURN(Connection source, sqlite::OpenConnection(copy_path, SQLITE_OPEN_READONLY));
  ASSIGN_OR_RETURN(Connection target, sqlite::OpenConnection(catalog_path, SQLITE_OPEN_READWRITE |
                                                                               SQLITE_OPEN_CREATE));
  RETURN_IF_ERROR(sqlite::Exec(target.get(), "PRAGMA journal_mode=WAL"));
  sqlite3_backup* backup = sqlite3_backup_init(target.get(), "main", source.get(), "main");
  if (backup == nullptr) return sqlite::ErrorStatus(target.get(), "restoring the catalog");
  const int rc = sqlite3_backup_step(backup, -1);  // every page, as one write transaction
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return absl::UnavailableError(
        fmt::format("cannot restore the catalog \"{}\": {}", catalog_path, sqlite3_errstr(rc)));
  }
  return sqlite::Exec(target.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace loch
