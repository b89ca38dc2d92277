#pragma once
// Reading the XML an S3-compatible server answers (ListObjectsV2, errors, multipart uploads).
// The server is trusted for what it stores, not for being well-formed: every field is checked and
// a malformed answer is an error, never a crash (fuzz/fuzz_s3_listing.cc).

#include <tinyxml2.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/object_store.h"

namespace loch {

// The text of `element`'s first child named `name`; "" if either is missing.
std::string ChildText(const tinyxml2::XMLElement* element, const char* name);

// `text` without one pair of surrounding double quotes (ETags come quoted).
std::string StripQuotes(std::string text);

// Microseconds since the epoch of `text` in strptime `format` (UTC); 0 if it does not parse.
int64_t ParseTime(const std::string& text, const char* format);

// One page of a ListObjectsV2 answer: the objects under `store_prefix` (their keys without it),
// and the continuation token when the answer is truncated. Internal for XML that does not
// parse, DataLoss for an object whose size is not a number.
absl::StatusOr<ListPage> ParseListObjectsV2(std::string_view body, const std::string& store_prefix);

}  // namespace loch
