#include "common/ids.h"

#include <openssl/rand.h>
#include <sys/random.h>

#include <array>
#include <climits>
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

std::string NewTimeOrderedId() {
  time_t now = time(nullptr);
  struct tm tm_utc;
  gmtime_r(&now, &tm_utc);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}", tm_utc.tm_year + 1900,
                     tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min,
                     tm_utc.tm_sec, RandomHex(6));
}

}  // namespace loch
