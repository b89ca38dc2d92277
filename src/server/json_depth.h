#pragma once
// A bound on how deeply a request body's JSON nests, checked before a document is built from it.
// nlohmann-json parses iteratively, but copying, dumping and comparing a document recurse once
// per level: a body of 1 MiB of '[' would overflow the stack of the thread that handles it.

#include <string_view>

#include "common/status.h"

namespace loch {

// As simdjson's limit for the NDJSON records of the ingestion path (ingest/json_check.h).
inline constexpr int kMaxJsonDepth = 1024;

// OK if `text` nests arrays and objects at most kMaxJsonDepth deep; InvalidArgument saying so
// otherwise. A lexical scan (brackets inside strings do not count), exact for valid JSON; `text`
// need not be valid. Thread-safe.
absl::Status CheckJsonDepth(std::string_view text);

}  // namespace loch
