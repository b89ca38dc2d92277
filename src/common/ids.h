#pragma once
// Identifiers: random, URL- and path-safe, sortable by creation time where it matters.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loch {

// Fills `out` with `count` bytes from a CSPRNG (OpenSSL's; the kernel's getrandom if OpenSSL's
// fails). Never leaves them unfilled.
void FillRandomBytes(void* out, size_t count);

// A new 128-bit random identifier as 32 lowercase hex characters (from a CSPRNG).
std::string NewRandomId();

// A time-ordered identifier: "<yyyymmddThhmmssZ>-<12 hex random>", safe as a path segment.
// Ids made later sort after ids made earlier (at second resolution).
std::string NewTimeOrderedId();
// When the time-ordered id `id` was made (UTC microseconds, whole seconds); nullopt if `id` is not
// one.
std::optional<int64_t> TimeOrderedIdMicros(std::string_view id);

}  // namespace loch
