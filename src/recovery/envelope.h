#pragma once
// The envelope of loch's recovery files (internal to recovery/): an 8-byte magic, a 4-byte
// big-endian header length, a JSON header (at most 1 MiB), then the payload.

#include <string>
#include <string_view>

#include "common/status.h"
#include "nlohmann/json.hpp"

namespace loch {

std::string EncodeEnvelope(std::string_view magic, const nlohmann::json& header,
                           std::string_view payload);

struct Envelope {
  nlohmann::json header;     // an object
  std::string_view payload;  // into the parsed bytes
};

// DataLoss naming `what` if `bytes` do not start with `magic`, the header is cut off, too large or
// not a JSON object.
absl::StatusOr<Envelope> ParseEnvelope(std::string_view bytes, std::string_view magic,
                                       std::string_view what);

// The header's field `name` if it is a string ("" otherwise), or a non-negative integer (-1
// otherwise).
std::string HeaderText(const nlohmann::json& header, const char* name);
int64_t HeaderNumber(const nlohmann::json& header, const char* name);

}  // namespace loch
