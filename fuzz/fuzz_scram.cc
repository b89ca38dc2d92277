// A SCRAM-SHA-256 exchange as the server runs it, with arbitrary client-first and client-final
// messages (the input split at its first NUL): a PostgreSQL client reaches this before it is
// authenticated.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pgwire/scram.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const loch::pg::ScramVerifier verifier =
      loch::pg::MakeScramVerifier("pencil", "QSXCR+Q6sek8bf92", 16);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  loch::pg::ScramExchange exchange(verifier, "3rfcNHYJY1ZVvWVs7j");
  auto first = exchange.ServerFirst(std::string(input.substr(0, split)));
  if (first.ok() && split != std::string_view::npos) {
    (void)exchange.ServerFinal(std::string(input.substr(split + 1)));
  }
  return 0;
}
