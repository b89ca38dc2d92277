// Compressed request bodies (Content-Encoding: gzip / zstd on the records route) and files given to
// `loch put`: any bytes, under either encoding, must give data or a clear error, never a crash, and
// never more output than the bound however small the input (a decompression bomb).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/decompress.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr size_t kBound = 1 << 20;
  for (loch::ContentEncoding encoding :
       {loch::ContentEncoding::kGzip, loch::ContentEncoding::kZstd,
        loch::SniffContentEncoding(input)}) {
    auto out = loch::DecompressBounded(input, encoding, kBound);
    if (out.ok() && out->size() > kBound) std::abort();
  }
  (void)loch::ParseContentEncoding(input);
  return 0;
}
