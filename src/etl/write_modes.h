#pragma once
// What a job run publishes in each write mode (job_spec.h): the files it stages and the target's
// files its commit removes.
//   append              the run's result; removes nothing
//   replace-partitions  the run's result; removes the target's files in the partitions it wrote
//                       (all of them for an unpartitioned target)
//   merge               the target's files that may hold one of the run's keys (by their
//                       statistics), rewritten: their rows whose key the run does not have, plus
//                       the run's rows that are not deletes; removes those files
//   history             the same files, rewritten with type-2 history: a key whose values changed
//                       gets its current row closed and a new current row (deletes only close)
//   rollup              after reading only new rows: the target's files that may hold one of the
//                       run's groups, rewritten with the run's partial aggregates merged in;
//                       after reading everything: the rollup of it all, replacing every file

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "etl/job_spec.h"

namespace loch::etl {

struct RunOutput {
  StagedFiles staged;                  // published by the commit
  std::vector<StagedFiles> temporary;  // deleted once the run ends, whatever its outcome
  int64_t rows_in_result = 0;          // rows the job's query returned
  // The ids of the target's files the commit removes, for the target as it is when committing.
  std::function<std::vector<int64_t>(const TableSnapshot& target)> replaced;
  // Whether `replaced` still holds for a target newer than the one the output was made from
  // (false: a conflicting commit makes the run produce its output again).
  bool rebases = true;
  // Whether a result without rows is still committed to remove what `replaced` names (an
  // unpartitioned replace, a range re-run); else it publishes nothing.
  bool publish_when_empty = false;
};

// Stages the output of `spec`'s query (`stage`, with its sources pinned) for `target` (nullopt:
// the table does not exist yet). Errors: the engine's; InvalidArgument for a merge whose result
// has a key twice (naming it).
// `now_micros` is the run's time: history's valid_from / valid_to. `read_everything`: the
// sources were read whole (no bookmarks), not only their new files.
absl::StatusOr<RunOutput> ProduceOutput(LakeEngine& engine, const Principal& who,
                                        const JobSpec& spec, const StageRequest& stage,
                                        const std::optional<TableSnapshot>& target,
                                        int64_t now_micros, bool read_everything);

// The partition of a file: its values of the partition columns, in order ("" where it has none).
std::vector<std::string> PartitionOf(const DataFile& file, const std::vector<Column>& columns);

}  // namespace loch::etl
