// SigV4 verification of an arbitrary request: the input is split into method, path, query,
// headers (Name: value lines) and body; an Authorization header is parsed as the client sent it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/sigv4.h"

namespace {

std::string_view Take(std::string_view& rest, char separator) {
  const size_t at = rest.find(separator);
  std::string_view head = rest.substr(0, at);
  rest = at == std::string_view::npos ? std::string_view() : rest.substr(at + 1);
  return head;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  loch::SignedRequest request;
  request.method = std::string(Take(rest, '\n'));
  request.path = std::string(Take(rest, '\n'));
  std::string_view query = Take(rest, '\n');
  while (!query.empty()) {
    std::string_view pair = Take(query, '&');
    std::string_view name = Take(pair, '=');
    request.query.emplace(std::string(name), std::string(pair));
  }
  while (!rest.empty()) {
    std::string_view line = Take(rest, '\n');
    if (line.empty()) break;
    std::string_view name = Take(line, ':');
    request.headers.emplace(std::string(name), std::string(line));
  }
  request.body = rest;
  auto secret_for = [](const std::string& key) {
    return key == "AKIDEXAMPLE" ? std::string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
                                : std::string();
  };
  (void)loch::VerifySigV4(request, secret_for, 1440938160);
  for (const auto& [name, value] : request.headers) (void)loch::SigV4AccessKeyId(value);
  request.headers.erase("Authorization");
  (void)loch::SignSigV4(request, "AKIDEXAMPLE", "secret", "us-east-1", "firehose", 1440938160);
  return 0;
}
