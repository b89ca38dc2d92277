#include "engine/json_shape.h"

#include <simdjson.h>

#include <algorithm>

namespace loch {
namespace {

constexpr size_t kHeadRecords = 1000;
constexpr size_t kHeadBytes = 256 << 10;
constexpr size_t kMaxMaskBytes = 64;  // longer strings are no datetimes DuckDB sniffs
constexpr size_t kMaxHeadMasks = 16;

// Folds one string value (its raw JSON token, quotes included) into `key`.
void AddString(std::string_view token, bool in_head, JsonShape::Key& key) {
  while (!token.empty() && token.back() != '"') token.remove_suffix(1);  // trailing whitespace
  if (token.size() > kMaxMaskBytes + 2) {
    key.strings_like_head = false;
    return;
  }
  char mask[kMaxMaskBytes + 2];
  for (size_t i = 0; i < token.size(); ++i)
    mask[i] = (token[i] >= '0' && token[i] <= '9') ? '9' : token[i];
  const std::string_view masked(mask, token.size());
  if (key.head_masks.contains(masked)) return;
  if (in_head && key.head_masks.size() < kMaxHeadMasks) {
    key.head_masks.emplace(masked);
  } else {
    key.strings_like_head = false;
  }
}

// Folds one value into `key`. False if the value cannot be read.
bool AddValue(simdjson::ondemand::value value, bool in_head, JsonShape::Key& key) {
  simdjson::ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  switch (type) {
    case simdjson::ondemand::json_type::null:
      key.kinds |= JsonShape::kNull;
      return true;
    case simdjson::ondemand::json_type::boolean:
      key.kinds |= JsonShape::kBool;
      return true;
    case simdjson::ondemand::json_type::string:
      key.kinds |= JsonShape::kString;
      AddString(value.raw_json_token(), in_head, key);
      return true;
    case simdjson::ondemand::json_type::number: {
      simdjson::ondemand::number_type number;
      if (value.get_number_type().get(number) != simdjson::SUCCESS) {
        key.kinds |= JsonShape::kOther;
      } else if (number == simdjson::ondemand::number_type::signed_integer) {
        key.kinds |= JsonShape::kInteger;
      } else if (number == simdjson::ondemand::number_type::floating_point_number) {
        key.kinds |= JsonShape::kFloat;
      } else {
        key.kinds |= JsonShape::kOther;
      }
      return true;
    }
    default:
      key.kinds |= JsonShape::kOther;
      return true;
  }
}

// Folds the keys of one record (a line, followed in memory by at least SIMDJSON_PADDING readable
// bytes) into `shape`. False if the line is not one JSON object.
bool AddRecord(simdjson::ondemand::parser& parser, simdjson::padded_string_view line, bool in_head,
               JsonShape& shape) {
  simdjson::ondemand::document document;
  simdjson::ondemand::object object;
  if (parser.iterate(line).get(document) != simdjson::SUCCESS ||
      document.get_object().get(object) != simdjson::SUCCESS) {
    return false;
  }
  for (auto field : object) {
    std::string_view name;
    simdjson::ondemand::value value;
    if (field.unescaped_key().get(name) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      return false;
    }
    auto key = shape.keys.find(name);
    if (key == shape.keys.end())
      key = shape.keys.emplace(std::string(name), JsonShape::Key{}).first;
    if (!AddValue(value, in_head, key->second)) return false;
  }
  return document.current_location().error() == simdjson::OUT_OF_BOUNDS;  // nothing after it
}

}  // namespace

std::optional<JsonShape> ShapeOfNdjson(std::string_view ndjson) {
  thread_local simdjson::ondemand::parser parser;
  JsonShape shape;
  size_t records = 0;
  size_t head_end = 0;
  size_t start = 0;
  while (start < ndjson.size()) {
    size_t end = ndjson.find('\n', start);
    if (end == std::string_view::npos) end = ndjson.size();
    const std::string_view line = ndjson.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const bool in_head = records < kHeadRecords && (records == 0 || end < kHeadBytes);
    // simdjson may read up to SIMDJSON_PADDING bytes past a record: the lines after it serve;
    // the last lines are copied.
    const size_t readable = ndjson.size() - (line.data() - ndjson.data());
    bool added;
    if (readable >= line.size() + simdjson::SIMDJSON_PADDING) {
      added = AddRecord(parser, simdjson::padded_string_view(line.data(), line.size(), readable),
                        in_head, shape);
    } else {
      const simdjson::padded_string padded(line);
      added = AddRecord(parser, padded, in_head, shape);
    }
    if (!added) return std::nullopt;
    ++records;
    if (in_head) head_end = std::min(end + 1, ndjson.size());
  }
  if (records == 0) return std::nullopt;
  shape.head = std::string(ndjson.substr(0, head_end));
  if (!shape.head.ends_with('\n')) shape.head += '\n';
  return shape;
}

bool SampledTypesHold(const JsonShape& shape, const std::vector<Column>& sampled) {
  if (sampled.size() != shape.keys.size()) return false;
  return std::all_of(sampled.begin(), sampled.end(), [&](const Column& column) {
    auto it = shape.keys.find(column.name);
    if (it == shape.keys.end()) return false;
    const JsonShape::Key& key = it->second;
    uint8_t allowed = 0;
    if (column.type == "BIGINT") {
      allowed = JsonShape::kInteger;
    } else if (column.type == "DOUBLE") {
      allowed = JsonShape::kInteger | JsonShape::kFloat;
    } else if (column.type == "BOOLEAN") {
      allowed = JsonShape::kBool;
    } else if (column.type == "VARCHAR") {
      allowed = JsonShape::kString;
    } else if (column.type == "DATE" || column.type == "TIME" || column.type == "TIMESTAMP" ||
               column.type == "TIMESTAMP WITH TIME ZONE") {
      allowed = key.strings_like_head ? JsonShape::kString : 0;
    }
    return allowed != 0 && (key.kinds & ~(allowed | JsonShape::kNull)) == 0;
  });
}

}  // namespace loch
