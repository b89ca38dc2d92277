#include "common/ids.h"

#include <openssl/rand.h>

#include <array>
#include <ctime>
#include <random>

#include "fmt/format.h"

namespace loch {
namespace {

std::string RandomHex(size_t bytes) {
  std::array<unsigned char, 32> buffer{};
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1) {
    // OpenSSL's generator failing is not recoverable in practice; fall back to the OS device.
    std::random_device device;
    for (size_t i = 0; i < bytes; ++i) buffer[i] = static_cast<unsigned char>(device());
  }
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) out += fmt::format("{:02x}", buffer[i]);
  return out;
}

}  // namespace

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
