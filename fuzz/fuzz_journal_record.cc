// A catalog journal record as `loch init --recover` reads it from the lake
// (recovery/lake_journal.h): magic, header length, JSON header and zstd frame are all the
// record's to lie about. Parsing must refuse with a status, never crash, and hold no more than
// what really decompresses (at most the 256 MiB a record may announce).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "recovery/lake_journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)loch::ParseJournalRecord(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
