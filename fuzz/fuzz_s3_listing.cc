// A ListObjectsV2 answer from an S3-compatible server, as arbitrary bytes: a broken or hostile
// store must give an error, never crash loch.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "storage/s3_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)loch::ParseListObjectsV2(body, "");
  (void)loch::ParseListObjectsV2(body, "lake/");
  return 0;
}
