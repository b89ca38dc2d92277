#pragma once
// The engine's cursors (internal to engine/): DuckQueryCursor streams a query's result from its own
// DuckDB connection; WriteCursor runs a write statement and yields its one-row summary.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/duck.h"
#include "engine/lake_engine.h"
#include "engine/watchdog.h"

namespace loch {

// `sql` without trailing whitespace and semicolons, so that it can be wrapped in a subquery.
std::string_view TrimStatement(std::string_view sql);

// What a query holds until its cursor is gone: cached files (never evicted meanwhile) and the
// release of its private catalog. Destroyed after the query's connection.
struct QueryResources {
  // Compressed size of the data files the query's filters could not rule out: what it may read.
  int64_t bytes_scanned = 0;
  int64_t files_scanned = 0;  // those files
  int64_t files_total = 0;    // the data files of the tables it names
  std::vector<std::shared_ptr<FileCache::Lease>> files;
  std::function<void()> release;
  ~QueryResources() {
    if (release) release();
  }
};

class DuckQueryCursor final : public QueryCursor {
 public:
  DuckQueryCursor(duck::Connection connection, Watchdog* watchdog,
                  std::unique_ptr<QueryResources> resources)
      : resources_(std::move(resources)), connection_(std::move(connection)), watchdog_(watchdog) {}
  ~DuckQueryCursor() override { Disarm(); }

  // Prepares `sql` and binds `parameters`; if some result columns are not directly decodable,
  // wraps it so that SQL casts them. PermissionDenied for anything but a query (or, with
  // `explain`, an EXPLAIN of one).
  absl::Status Prepare(std::string_view sql, const std::vector<QueryParameter>& parameters,
                       bool explain = false);
  // Execution starts with the first Next(), so that a caller can hold the cursor (and Cancel() it)
  // before any work is done; the timeout counts from then.
  void SetTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  int64_t bytes_scanned() const override { return resources_ ? resources_->bytes_scanned : 0; }
  const std::vector<ResultColumn>& columns() const override { return columns_; }
  absl::StatusOr<std::optional<ResultChunk>> Next() override;
  void Cancel() override;

 private:
  absl::Status Start();
  // Bound parameters can change a statement's result types (DuckDB binds it again with the
  // values' types): decode by what the result holds, never by what preparing promised.
  absl::Status CheckResultTypes();
  void Disarm();
  absl::Status TranslateInterrupt(const absl::Status& status) const;

  std::unique_ptr<QueryResources> resources_;  // first: released after everything below
  duck::Connection connection_;                // destroyed after the statement and result
  std::optional<duck::PreparedStatement> prepared_;
  duck::Result result_;
  std::vector<ResultColumn> columns_;
  std::vector<duckdb_type> decode_types_;
  Watchdog* watchdog_;
  int watchdog_id_ = 0;
  std::chrono::milliseconds timeout_{0};
  std::shared_ptr<std::atomic<bool>> timed_out_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> cancelled_{false};
  bool started_ = false;
  bool done_ = false;
};

// A cursor whose result starts with rows of its own (laid out like the inner cursor's columns,
// all text), then the inner cursor's: EXPLAIN's files-and-bytes line before DuckDB's plan.
class PrefixedCursor final : public QueryCursor {
 public:
  PrefixedCursor(std::vector<std::vector<std::string>> rows, std::unique_ptr<QueryCursor> inner)
      : rows_(std::move(rows)), inner_(std::move(inner)) {}
  const std::vector<ResultColumn>& columns() const override { return inner_->columns(); }
  absl::StatusOr<std::optional<ResultChunk>> Next() override;
  void Cancel() override { inner_->Cancel(); }
  int64_t bytes_scanned() const override { return inner_->bytes_scanned(); }

 private:
  std::vector<std::vector<std::string>> rows_;
  std::unique_ptr<QueryCursor> inner_;
  bool prefixed_ = false;
};

// What a write statement did, as a one-row result.
struct WriteSummary {
  std::string operation;  // "CREATE TABLE", "INSERT", "DROP TABLE"
  std::string table;
  int64_t rows = 0;
  int64_t files = 0;
  int64_t snapshot = 0;
  std::string message;  // what else the user should know ("" if nothing)
};

// A cursor over a write statement: the write runs on the first Next() and yields one summary row
// (operation, table, rows, files, snapshot, message).
class WriteCursor final : public QueryCursor {
 public:
  explicit WriteCursor(std::function<absl::StatusOr<WriteSummary>()> run);
  const std::vector<ResultColumn>& columns() const override { return columns_; }
  absl::StatusOr<std::optional<ResultChunk>> Next() override;
  void Cancel() override { cancelled_ = true; }

 private:
  std::function<absl::StatusOr<WriteSummary>()> run_;
  std::vector<ResultColumn> columns_;
  std::atomic<bool> cancelled_{false};
  bool done_ = false;
};

}  // namespace loch
