// Pruning's reader of DuckDB parse trees, on arbitrary JSON (as if DuckDB's serializer had produced
// anything at all): extracting the predicate and rendering constants must never throw or recurse
// without bound; the SQL it builds is not run here (the differential test checks its meaning).
#include <cstddef>
#include <cstdint>

#include "engine/file_pruner.h"
#include "engine/prune_predicate.h"
#include "nlohmann/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Depth-limited parse: nlohmann's own parser recurses per nesting level.
  int depth = 0, max_depth = 0;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '[' || data[i] == '{') max_depth = std::max(max_depth, ++depth);
    if (data[i] == ']' || data[i] == '}') --depth;
  }
  if (max_depth > 200) return 0;
  const nlohmann::json statement = nlohmann::json::parse(data, data + size, nullptr, false);
  if (statement.is_discarded()) return 0;
  loch::Schema schema;
  schema.columns = {{"a", "BIGINT"}, {"b", "VARCHAR"}, {"c", "DECIMAL(18,3)"}, {"d", "DATE"}};
  schema.partition_columns = {{"day", "DATE"}};
  const std::vector<loch::QueryParameter> parameters = {{"1", ""}, {"2.5", "DOUBLE"}, {{}, ""}};
  const loch::PrunePredicate predicate =
      loch::ExtractPrunePredicate(statement, loch::TableName{"t", "p"}, schema, parameters);
  loch::DataFile file;
  file.row_count = 3;
  file.stats = {{"a", "1", "9", 0, "BIGINT"}, {"b", "x", "y", 1, "VARCHAR"}};
  file.partition_values = {{"day", "2024-01-01"}};
  (void)loch::PruneQuerySql(predicate, schema, {file, file});
  (void)loch::RenderConstant(statement);
  return 0;
}
