#include "engine/result_set.h"

#include "nlohmann/json.hpp"

namespace loch {

std::string CellToJson(const std::optional<std::string>& cell, ValueKind kind) {
  if (!cell.has_value()) return "null";
  switch (kind) {
    case ValueKind::kBoolean:
    case ValueKind::kJson:
      return *cell;
    case ValueKind::kNumber:
      return (*cell == "nan" || *cell == "inf" || *cell == "-inf") ? "null" : *cell;
    default:
      return nlohmann::json(*cell).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

std::string CellToCsv(const std::optional<std::string>& cell) {
  if (!cell.has_value()) return "";
  if (cell->find_first_of(",\"\r\n") == std::string::npos) return *cell;
  std::string out = "\"";
  for (char c : *cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace loch
