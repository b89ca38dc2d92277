#pragma once
// A re-run's range of the target's first partition column (`loch job run --from A --to B`): the
// run keeps only its query's rows in the range, and its commit replaces exactly the target's
// partitions in the range (those the run no longer produces rows for are emptied).
// Bounds are inclusive and compared in the column's type (dates as dates, numbers as numbers).

#include <set>
#include <string>
#include <vector>

#include "catalog/model.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"

namespace loch::etl {

struct PartitionRange {
  std::string from, to;  // as the user wrote them
};

// "<column> BETWEEN <from> AND <to>" in the column's type, for a query over rows that have it.
std::string RangeCondition(const Column& column, const PartitionRange& range);

// Of `values` (partition values of `column`, as the catalog holds them: folder text, URL-encoded
// where it must be; NULL's folder is never in a range), those in `range`.
// InvalidArgument when a bound does not read as the column's type, or `from` is after `to`.
absl::StatusOr<std::set<std::string>> PartitionsInRange(LakeEngine& engine, const Principal& who,
                                                        const Column& column,
                                                        const std::set<std::string>& values,
                                                        const PartitionRange& range);

}  // namespace loch::etl
