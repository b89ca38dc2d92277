#pragma once
// Merging inferred file schemas into a table schema.

#include <string>
#include <vector>

#include "catalog/model.h"

namespace loch {

// The narrowest type that holds values of both `a` and `b`: integer types widen to BIGINT, integers
// and floats to DOUBLE, DATE and TIMESTAMP to TIMESTAMP; any other disagreement becomes VARCHAR
// (every value stays readable as text).
std::string WidenType(const std::string& a, const std::string& b);

struct SchemaChange {
  std::vector<std::string> added;    // new columns
  std::vector<std::string> widened;  // "name: OLD -> NEW"
  bool changed() const { return !added.empty() || !widened.empty(); }
};

// Merges `file_columns` into `schema` (new columns appended in file order, types widened) and says
// what changed. A column is nullable if it is nullable in any file, or if it arrives after the first
// file (earlier rows lack it); nullability changes are not reported as changes.
SchemaChange MergeColumns(std::vector<Column>& schema, const std::vector<Column>& file_columns);

// The type of a partition column from its values: BIGINT if all are integers, DATE if all are
// YYYY-MM-DD, VARCHAR otherwise.
std::string InferPartitionType(const std::vector<std::string>& values);

}  // namespace loch
