#pragma once
// Loader: copies local data files into the lake's raw zone and registers them as (an append to) a
// catalog table, with the schema inferred from their content.
//
// Idempotent: a file whose content the table already has is skipped (LoadRequest::allow_duplicates
// to load it again), so running the same load twice adds its rows once.
//
// All or nothing: files are checked (format, partition layout) before anything is copied; if
// profiling or the catalog commit fails, the copied objects are deleted and the catalog is
// unchanged. Concurrent loads into the same table are safe: a commit conflict is retried on the new
// snapshot.

#include <functional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "engine/lake_engine.h"
#include "schema/schema_policy.h"
#include "storage/object_store.h"

namespace loch {

struct LoadRequest {
  // Files and/or directories. A directory is loaded recursively; its `name=value` sub-folders
  // become partition columns (Hive style), e.g. events/day=2026-10-01/x.json gives a partition
  // column "day".
  std::vector<std::string> inputs;
  TableName table;
  // A file whose content (SHA-256) the table already has with the same partition values, or that
  // another file of the load repeats, is skipped (named in LoadResult::skipped) unless this is set.
  bool allow_duplicates = false;
  // Reads and profiles the files and says what loading them would do, but changes nothing: the
  // lake and the catalog are left as they were.
  bool dry_run = false;
  // Types for columns, overriding inference (schema/schema_policy.h, ColumnHint); each must name
  // a column of the files. The table keeps them for later loads and crawls.
  std::vector<ColumnHint> column_hints;
};

struct LoadResult {
  std::string load_id;  // raw/<db>/<table>/<load_id>/... holds this load's files
  int64_t files = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  // Inputs skipped, with the reason (empty files; content the table already has).
  std::vector<std::string> skipped;
  int64_t duplicates = 0;  // of those, files skipped for their content
  bool created_table = false;
  int64_t snapshot_id = 0;
  int64_t schema_version = 0;
  SchemaChange schema_change;  // relative to the table's previous schema
  std::vector<std::string> partition_columns;
  // Text columns the table reads as another type ("ts: TIMESTAMP from ISO 8601 (...)").
  std::vector<std::string> typed_text;
  // Values that do not parse (counts, examples, where their text is), type conflicts.
  std::vector<std::string> warnings;
  bool dry_run = false;  // nothing was committed: the fields say what loading would do
  Schema schema;         // the table's schema after the load
};

class Loader {
 public:
  // `progress(done, total)` is called after each file is copied (profiling follows).
  using Progress = std::function<void(size_t done, size_t total)>;

  Loader(Catalog& catalog, ObjectStore& store, LakeEngine& engine)
      : catalog_(catalog), store_(store), engine_(engine) {}

  // Loads `request` for `who`. A load whose every file is a duplicate succeeds with files == 0 and
  // commits nothing. Errors name the offending input: NotFound (missing input),
  // InvalidArgument (unknown format, empty input set, inconsistent partition folders, unreadable
  // content), Aborted (too many concurrent commits; retry).
  absl::StatusOr<LoadResult> Load(const Principal& who, const LoadRequest& request,
                                  const Progress& progress = {});

 private:
  // InvalidArgument if a hint's datetime formats are not patterns DuckDB's strptime takes.
  absl::Status CheckHintFormats(const Principal& who, const std::vector<ColumnHint>& hints);
  // Report lines for hinted columns whose values do not all read as their type (empty if all do).
  std::vector<std::string> UnreadableHintedValues(const Principal& who, const TableName& table,
                                                  const Schema& schema,
                                                  const std::vector<ColumnHint>& hints);

  Catalog& catalog_;
  ObjectStore& store_;
  LakeEngine& engine_;
};

}  // namespace loch
