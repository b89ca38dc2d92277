#pragma once
// The type lattice every loading path (load, crawl, stream delivery) widens column types along,
// so that a table's schema does not depend on the path its data took.
//
//   - unknown ("NULL": a column with no values yet) widens to anything;
//   - integers widen to the larger (TINYINT < SMALLINT < INTEGER < BIGINT < HUGEINT; unsigned
//     types to the signed type holding them), integers and decimals to a DECIMAL holding both (or
//     DOUBLE past 38 digits), anything numeric with FLOAT/DOUBLE to DOUBLE;
//   - DATE < TIMESTAMP (and TIMESTAMP_S/_MS/_NS); with TIMESTAMP WITH TIME ZONE, that;
//   - structs merge field by field (fields of either side, each widened alone: a field one side
//     lacks reads as NULL there), lists widen their element type, maps their key and value types;
//   - JSON holds structs, lists and JSON; VARCHAR holds everything else, as the last resort.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/type_tree.h"

namespace loch {

// The narrowest type along the lattice above that holds the values of both `a` and `b`.
std::string WidenType(const std::string& a, const std::string& b);

// True if `type` is one a column with no values yet has ("NULL", or DuckDB's guesses for all-null
// JSON keys and empty lists).
bool IsUnknownType(std::string_view type);

}  // namespace loch
