#pragma once
// The SQL that presents a catalog table snapshot as a relation: the table's columns (in schema
// order, cast to the catalog's types, NULL where a file lacks a column) followed by its partition
// columns.

#include <functional>
#include <string>

#include "catalog/model.h"
#include "common/status.h"

namespace loch {

// Maps a data file to a path DuckDB can open (a local file). Fails if the file cannot be read
// safely.
using FileResolver = std::function<absl::StatusOr<std::string>(const DataFile&)>;

// Builds a SELECT over the files of `snapshot`:
//   - files are grouped by format; each group is one read_parquet/read_json/read_csv scan;
//   - partition values come from Hive-style `name=value` folders when every file of a group has
//   them
//     (so DuckDB prunes files by partition filters), otherwise from the catalog's values per file;
//   - an empty table gives a typed, empty relation.
// InvalidArgument if a file has an unknown format or a key DuckDB would treat as a glob pattern.
// Whether `file` is known to hold no rows (a header-only CSV): it adds nothing, and it has no
// statistics to tell a scan which columns it has, so queries never read it. (Registered files are
// taken as they were registered, as pruning by their statistics does too.)
inline bool HoldsNoRows(const DataFile& file) { return file.row_count == 0; }

absl::StatusOr<std::string> BuildTableViewSql(const TableSnapshot& snapshot,
                                              const FileResolver& resolve);

}  // namespace loch
