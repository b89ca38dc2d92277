// A catalog backup file as `loch catalog restore|verify` reads it (recovery/catalog_backup.h):
// its magic, header length, JSON header and zstd frame are all the file's to lie about. Parsing
// must refuse with a status, never crash, and never hold more than a chunk of what decompresses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "recovery/catalog_backup.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t bytes = 0;  // decompressed bytes are counted, not kept
  (void)loch::ParseCatalogBackup(std::string_view(reinterpret_cast<const char*>(data), size),
                                 [&bytes](std::string_view chunk) {
                                   bytes += chunk.size();
                                   return absl::OkStatus();
                                 });
  return 0;
}
