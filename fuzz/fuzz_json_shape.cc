// What the ingestion path reads of every record before it is durable: JSON validation (simdjson)
// and the shape pass over an NDJSON object (keys, kinds, digit masks of the first records).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/json_shape.h"
#include "ingest/json_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)loch::IsJsonValue(input);
  if (auto shape = loch::ShapeOfNdjson(input)) {
    (void)loch::SampledTypesHold(*shape, {{"a", "BIGINT"}, {"b", "VARCHAR"}, {"ts", "TIMESTAMP"}});
  }
  return 0;
}
