#pragma once
// Helpers for tests that check query answers (header-only, no test framework inside).

#include <optional>
#include <string>
#include <vector>

#include "common/strings.h"
#include "engine/lake_engine.h"

namespace loch {

// Every row of the cursor's result as text ("NULL" for nulls).
inline absl::StatusOr<std::vector<std::vector<std::string>>> AllRows(QueryCursor& cursor) {
  std::vector<std::vector<std::string>> rows;
  while (true) {
    ASSIGN_OR_RETURN(auto chunk, cursor.Next());
    if (!chunk.has_value()) return rows;
    for (size_t r = 0; r < chunk->row_count; ++r) {
      std::vector<std::string> row;
      for (const auto& column : chunk->cells) row.push_back(column[r].value_or("NULL"));
      rows.push_back(std::move(row));
    }
  }
}

// The first cell of `sql`'s answer, or "ERROR: <message>".
inline std::string FirstCell(LakeEngine& engine, const std::string& sql) {
  auto cursor = engine.Query(Principal::LocalAdmin(), sql);
  if (!cursor.ok()) return "ERROR: " + std::string(ToStd(cursor.status().message()));
  auto rows = AllRows(**cursor);
  if (!rows.ok()) return "ERROR: " + std::string(ToStd(rows.status().message()));
  return rows->empty() || rows->front().empty() ? "NO ROWS" : rows->front().front();
}

}  // namespace loch
