#pragma once
// Deciding, before anything is read or fetched, which data files a query can need.
//
// A file is skipped only when its bounds prove that no row in it satisfies the query's WHERE
// clause; anything not understood keeps the file. The comparisons themselves are made by DuckDB,
// not re-implemented here: a relation of per-file bounds (min/max from the file's statistics, or
// its partition value, each cast to the column's type exactly as the table's view reads the file)
// is filtered with the query's own constants (see prune_predicate.h), so DECIMAL scales, 64- and
// 128-bit integers, NaN, -0.0, dates against timestamps and string literals compare under
// DuckDB's typing rules.
//
// Bounds are used only when the type they were measured in orders values like the column's type
// (the same type, or a widening within numbers or within dates/timestamps); statistics of
// unknown type (written before catalog format 7) are not used. Partition values that DuckDB would
// decode differently from the catalog's text (with '%', empty, Hive's default partition) are not
// used either.

#include <vector>

#include "catalog/model.h"
#include "common/status.h"
#include "engine/duck.h"
#include "engine/prune_predicate.h"

namespace loch {

// For each of `files` (of a table with `schema`), whether it may hold a row satisfying
// `predicate`: false only when DuckDB proves no row can. A kTrue predicate keeps every file
// without a query. Errors (a constant DuckDB cannot evaluate) are returned; the caller should then
// keep every file. One query runs on `connection` (any connection used by one thread at a time:
// the query reads no files); its work is bounded by files x atoms (kMaxPruneAtoms).
absl::StatusOr<std::vector<bool>> FilesThatMayMatch(duck::Connection& connection,
                                                    const PrunePredicate& predicate,
                                                    const Schema& schema,
                                                    const std::vector<DataFile>& files);

// The SQL that FilesThatMayMatch runs (exposed for tests and EXPLAIN-style diagnostics): it
// returns the indexes of the files that may match. Empty when `predicate` is kTrue.
std::string PruneQuerySql(const PrunePredicate& predicate, const Schema& schema,
                          const std::vector<DataFile>& files);

}  // namespace loch
