// A TLS connection's server side (tls/tls_channel.h) fed arbitrary bytes, in pieces whose sizes
// come from the input, as a client on the network could send them before and during a handshake.
// The channel must refuse with a status and never crash, hang or grow without bound.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tls/self_signed.h"
#include "tls/tls_channel.h"
#include "tls/tls_context.h"

namespace {

const loch::tls::TlsServerContext& Context() {
  static const std::unique_ptr<loch::tls::TlsServerContext> context = [] {
    char dir[] = "/tmp/loch-fuzz-tls-XXXXXX";
    if (mkdtemp(dir) == nullptr) abort();
    auto made = loch::tls::EnsureSelfSigned({.dir = std::string(dir) + "/tls"});
    if (!made.ok()) abort();
    auto loaded = loch::tls::TlsServerContext::Load(made->server);
    if (!loaded.ok()) abort();
    return *std::move(loaded);
  }();
  return *context;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto channel = loch::tls::TlsChannel::Accept(Context().Current());
  if (!channel.ok()) abort();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)loch::tls::LooksLikePlainHttp(input.substr(0, 8));
  std::string plain, wire;
  while (!input.empty()) {
    // Each piece: one length byte, then that many bytes (a socket's reads are as uneven).
    const size_t length = std::min<size_t>(static_cast<uint8_t>(input[0]) + 1, input.size() - 1);
    const absl::Status received = (*channel)->Receive(input.substr(1, length), plain);
    input.remove_prefix(1 + length);
    (*channel)->TakeOutgoing(wire);
    if (!received.ok()) break;
  }
  if ((*channel)->handshake_done()) (void)(*channel)->Send("HTTP/1.1 200 OK\r\n\r\n");
  (*channel)->Close();
  (*channel)->TakeOutgoing(wire);
  return 0;
}
