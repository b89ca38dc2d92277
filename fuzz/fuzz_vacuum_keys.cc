// What vacuum reads from outside: the --retain text a user types, and object keys a store lists
// (any bytes a writer chose). Neither parser may throw or read out of bounds; a retention that
// parses is a whole, non-negative number of microseconds; a key's write id parses only when it is
// one NewTimeOrderedId() could have made, and then to a time that formats back to it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/ids.h"
#include "lifecycle/vacuum.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto retain = loch::ParseRetention(input); retain.ok() && *retain < 0) std::abort();
  if (auto micros = loch::TimeOrderedIdMicros(input)) {
    if (input.size() != 29 || *micros % 1000000 != 0) std::abort();
  }
  return 0;
}
