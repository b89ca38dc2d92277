#pragma once
// Turning NDJSON records into rows of a known schema (a stream's conversion to Parquet): the SQL
// that reads an NDJSON file record by record and casts each field to its column's type, and the SQL
// that finds the records that do not fit, with the reason.

#include <string>
#include <vector>

#include "catalog/model.h"

namespace loch {

// Columns a conversion writes: `schema`'s data columns with their logical types (datetimes as
// DATE/TIMESTAMP), without the raw-text companions a crawler adds.
std::vector<Column> ConversionColumns(const Schema& schema);

// A SELECT over the NDJSON file at `path` that returns, for every record that is a JSON object
// whose fields all cast to their columns' types, one row of `columns` (missing fields are NULL;
// fields not in `columns` are dropped).
std::string ConvertedRowsSql(const std::string& path, const std::vector<Column>& columns);

// A SELECT over the same file returning (record, reason) for every record ConvertedRowsSql leaves
// out, e.g. `column amount: "a lot" is not DOUBLE`.
std::string RejectedRowsSql(const std::string& path, const std::vector<Column>& columns);

}  // namespace loch
