// Classifying a file by its name and first bytes (loader and crawler): arbitrary names and
// contents, compressed or not, must get a format or a clear error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "load/file_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string name(input.substr(0, std::min<size_t>(newline, 256)));
  const std::string_view head =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  (void)loch::DetectFormat(name, head);
  return 0;
}
