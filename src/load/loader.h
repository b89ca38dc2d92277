#pragma once
// Loader: copies local data files into the lake's raw zone and registers them as (an append to) a
// catalog table, with the schema inferred from their content.
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
};

struct LoadResult {
  std::string load_id;  // raw/<db>/<table>/<load_id>/... holds this load's files
  int64_t files = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  std::vector<std::string> skipped;  // inputs skipped, with the reason (e.g. empty files)
  bool created_table = false;
  int64_t snapshot_id = 0;
  int64_t schema_version = 0;
  SchemaChange schema_change;  // relative to the table's previous schema
  std::vector<std::string> partition_columns;
  // Text columns the table reads as another type ("ts: TIMESTAMP from ISO 8601 (...)").
  std::vector<std::string> typed_text;
  // Values that do not parse (counts, examples, where their text is), type conflicts.
  std::vector<std::string> warnings;
};

class Loader {
 public:
  // `progress(done, total)` is called after each file is copied (profiling follows).
  using Progress = std::function<void(size_t done, size_t total)>;

  Loader(Catalog& catalog, ObjectStore& store, LakeEngine& engine)
      : catalog_(catalog), store_(store), engine_(engine) {}

  // Loads `request` for `who`. Errors name the offending input: NotFound (missing input),
  // InvalidArgument (unknown format, empty input set, inconsistent partition folders, unreadable
  // content), Aborted (too many concurrent commits; retry).
  absl::StatusOr<LoadResult> Load(const Principal& who, const LoadRequest& request,
                                  const Progress& progress = {});

 private:
  Catalog& catalog_;
  ObjectStore& store_;
  LakeEngine& engine_;
};

}  // namespace loch
