#include "common/ids.h"

#include <openssl/rand.h>
#include <sys/random.h>

#include <array>
#include <climits>
#include <cctype>
#include <ctime>

#include "fmt/format.h"

namespace loch {
namespace {

std::string RandomHex(size_t bytes) {
  std::array<unsigned char, 32> buffer{};
  FillRandomBytes(buffer.data(), bytes);
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", buffer[i]);
  return out;
}

}  // namespace

void FillRandomBytes(void* out, size_t count) {
  auto* bytes = static_cast<unsigned char*>(out);
  if (count <= static_cast<size_t>(INT_MAX) && RAND_bytes(bytes, static_cast<int>(count)) == 1) {
    return;
  }
  // OpenSSL's generator failed (it practically never does): the kernel's, which blocks only until
  // the pool is initialised once after boot.
  size_t filled = 0;
  while (filled < count) {
    const ssize_t n = ::getrandom(bytes + filled, count - filled, 0);
    if (n > 0) filled += static_cast<size_t>(n);
  }
}

std::string NewRandomId() { return RandomHex(16); }

std::optional<int64_t> TimeOrderedIdMicros(std::string_view id) {
  // yyyymmddThhmmssZ-<12 hex>
  constexpr size_t kLength = 16 + 1 + 12;
  if (id.size() != kLength || id[8] != 'T' || id[15] != 'Z' || id[16] != '-') return std::nullopt;
  const auto digits = [&](size_t from, size_t count) -> std::optional<int> {
    int value = 0;
    for (size_t i = from; i < from + count; ++i) {
      if (id[i] < '0' || id[i] > '9') return std::nullopt;
      value = value * 10 + (id[i] - '0');
    }
    return value;
  };
  for (size_t i = 17; i < kLength; ++i) {
    if (std::isxdigit(static_cast<unsigned char>(id[i])) == 0) return std::nullopt;
  }
  const auto year = digits(0, 4), month = digits(4, 2), day = digits(6, 2), hour = digits(9, 2),
             minute = digits(11, 2), second = digits(13, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  struct tm tm_utc {};
  tm_utc.tm_year = *year - 1900;
  tm_utc.tm_mon = *month - 1;
  tm_utc.tm_mday = *day;
  tm_utc.tm_hour = *hour;
  tm_utc.tm_min = *minute;
  tm_utc.tm_sec = *second;
  return static_cast<int64_t>(timegm(&tm_utc)) * 1000000;
}

std::string NewTimeOrderedId() {
  time_t now = time(nullptr);
  struct tm tm_utc;
  gmtime_r(&now, &tm_utc);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}", tm_utc.tm_year + 1900,
                     tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min,
                     tm_utc.tm_sec, RandomHex(6));
}

}  // namespace loch
