// Recovery of a write-ahead log from arbitrary segment bytes (a corrupt or torn segment, a crash
// at any point): Open must recover what is intact or fail with a clear error, never crash, and
// the log must stay usable.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "ingest/wal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir =
      (std::filesystem::temp_directory_path() / ("loch-fuzz-wal-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream segment(dir + "/wal-00000000000000000001.log", std::ios::binary);
    segment.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  loch::WalOptions options;
  options.dir = dir;
  options.segment_bytes = 1 << 20;
  auto log = loch::WriteAheadLog::Open(options);
  if (!log.ok()) return 0;
  // What was recovered reads back in order, and the log takes new records after it.
  uint64_t previous = 0;
  (void)(*log)->Replay(0, [&](uint64_t sequence, std::string_view) {
    if (sequence <= previous) __builtin_trap();  // out of order: a finding
    previous = sequence;
    return absl::OkStatus();
  });
  auto appended = (*log)->Append({"{\"after\": 1}"});
  if (appended.ok() && *appended <= previous) __builtin_trap();
  return 0;
}
