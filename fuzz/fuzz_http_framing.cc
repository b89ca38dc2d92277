// The front door's framing of what a client sends on one connection (server/http_request_parser.h):
// the request line and target, headers, Content-Length and chunked bodies, pipelined requests,
// and the refusals the door applies as a request arrives (body limit 413, admission 401, the
// budget of buffered bodies 503). The bytes after the input's first byte arrive in pieces of
// (first byte + 1) bytes, as reads from a socket may bring them, and are parsed as the door
// parses them. Every framed request must be safe to re-serialize (the door writes routed requests
// out again as text): no CR or LF in a header's name or value.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "server/http_request_parser.h"

namespace {

using loch::HttpRefusal;
using loch::HttpRequestParser;

constexpr size_t kMaxBodyBytes = 4 << 10;
constexpr size_t kBodyBudgetBytes = 6 << 10;  // all the connection's bodies together

// The door's decisions, in small: requests under /private are not admitted to send a body, and
// the bodies of all requests count against one budget.
class Door : public HttpRequestParser::Observer {
 public:
  std::optional<HttpRefusal> OnHeadersComplete(const httplib::Request& request,
                                               bool has_body) override {
    if (has_body && request.path.starts_with("/private")) return HttpRefusal{401, "no credentials"};
    return std::nullopt;
  }
  std::optional<HttpRefusal> OnBodyBytes(size_t bytes) override {
    if (bytes > kBodyBudgetBytes - charged_) return HttpRefusal{503, "over the budget"};
    charged_ += bytes;
    return std::nullopt;
  }

 private:
  size_t charged_ = 0;
};

void Fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

bool HasLineBreak(std::string_view text) { return text.find_first_of("\r\n") != text.npos; }

void CheckRequest(const HttpRequestParser::Framed& framed) {
  if (framed.request == nullptr) Fail("a whole request without a request");
  const httplib::Request& request = *framed.request;
  if (request.body.size() > kMaxBodyBytes) Fail("a body over the limit was taken");
  if (HasLineBreak(request.method) || HasLineBreak(request.target)) Fail("a request line breaks");
  for (const auto& [name, value] : request.headers) {
    if (HasLineBreak(name) || HasLineBreak(value)) Fail("a header would break when re-serialized");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = size_t{data[0]} + 1;
  std::string_view arriving(reinterpret_cast<const char*>(data) + 1, size - 1);
  Door door;
  HttpRequestParser parser(kMaxBodyBytes, &door);
  std::string received;  // not consumed yet, as the door's connection keeps it
  while (!arriving.empty() && !parser.refusal()) {
    const size_t count = std::min(piece, arriving.size());
    received.append(arriving.substr(0, count));
    arriving.remove_prefix(count);
    while (!received.empty()) {
      const size_t consumed = parser.Parse(received);
      if (consumed > received.size()) Fail("consumed more than it was given");
      const bool whole = parser.has_request();
      // Bytes left over while no request waits would sit in the door's buffer forever.
      if (!whole && !parser.refusal() && consumed != received.size()) Fail("bytes left unparsed");
      received.erase(0, consumed);
      if (!whole) break;  // refused, or the rest has not arrived yet
      CheckRequest(parser.TakeRequest());
    }
  }
  return 0;
}
