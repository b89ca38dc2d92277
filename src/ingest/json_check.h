#pragma once
// Fast JSON validation for the ingestion path (simdjson): a record is checked at gigabytes per
// second, without building a document, so validating every record costs little next to making it
// durable.

#include <string_view>

namespace loch {

// True if `text` is exactly one JSON value (surrounding whitespace allowed). Thread-safe.
bool IsJsonValue(std::string_view text);

}  // namespace loch
