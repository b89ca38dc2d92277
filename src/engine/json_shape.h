#pragma once
// The shape of an NDJSON object, seen in one simdjson pass before DuckDB reads it: its records'
// top-level keys, the kinds of JSON value each key holds, and its first records as a sample.
//
// Profiling a JSON file normally starts with DuckDB sniffing the types of every record
// (sample_size = -1), a full read as costly as the statistics pass after it. With a shape, the
// profile sniffs only the sample, and uses those types only when the shape proves they hold for
// every record (SampledTypesHold); otherwise it falls back to the full sniff. Ingestion knows its
// objects' bytes before storing them, so it pays a cheap simdjson pass instead of a DuckDB one.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/model.h"

namespace loch {

struct JsonShape {
  // Kinds of JSON values, as bits.
  enum Kind : uint8_t {
    kNull = 1,
    kBool = 2,
    kInteger = 4,  // fits a signed 64-bit integer
    kFloat = 8,
    kString = 16,
    kOther = 32,  // objects, arrays, integers beyond 64 bits
  };
  struct Key {
    uint8_t kinds = 0;  // of its values over all records
    // Masks of its string values in the head, each digit replaced by '9' ("9999-99-99"). Whether
    // DuckDB reads a string as a DATE/TIME/TIMESTAMP, and with which format, depends on the mask;
    // a value whose digits make no valid datetime fails a typed read instead.
    std::set<std::string, std::less<>> head_masks;
    // Every string value has a mask in head_masks (so a datetime type sniffed from the head is the
    // one a sniff of every record finds).
    bool strings_like_head = true;
  };
  std::map<std::string, Key, std::less<>> keys;  // top-level keys of the records
  std::string head;                              // the first records, whole lines
};

// The shape of `ndjson` (one JSON object per line). nullopt if a line is not a JSON object (then
// only DuckDB's own reading can say what the object holds). Reads at simdjson speed (GB/s).
std::optional<JsonShape> ShapeOfNdjson(std::string_view ndjson);

// True if `sampled`, the columns DuckDB sniffed from shape.head, are exactly the columns a sniff of
// every record would give: the same keys, and each type one that every value of the key reads as
// without loss (BIGINT: integers; DOUBLE: numbers; BOOLEAN; VARCHAR: strings; DATE, TIME,
// TIMESTAMP: strings shaped like the head's). Nulls fit every type.
bool SampledTypesHold(const JsonShape& shape, const std::vector<Column>& sampled);

}  // namespace loch
