#pragma once
// TlsChannel: the server side of one TLS connection, with no socket of its own. The owner moves
// bytes: what arrives from the peer goes in through Receive (decrypted bytes come out), what the
// server answers goes in through Send, and TakeOutgoing hands back everything to put on the wire
// (handshake messages, encrypted records, session tickets, alerts). An event loop keeps its
// sockets, its non-blocking reads and its syscalls exactly as with plain text.
//
// After every Receive and Send, call TakeOutgoing: TLS 1.3 writes during reads too (the handshake,
// tickets, key updates). Not thread-safe: one connection, one thread at a time.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace loch::tls {

class TlsChannel {
 public:
  // A server-side channel starting from `context` (TlsServerContext::Current()), which it keeps
  // alive for the connection's life.
  static absl::StatusOr<std::unique_ptr<TlsChannel>> Accept(std::shared_ptr<SSL_CTX> context);
  ~TlsChannel();

  // Takes `cipher` from the peer and appends what it decrypts to `plain` (nothing while the
  // handshake runs). Not OK (InvalidArgument, naming why) when the peer's bytes are not TLS or the
  // handshake fails: the connection is over; TakeOutgoing may still hold an alert for the peer.
  absl::Status Receive(std::string_view cipher, std::string& plain);

  // Encrypts `plain` for the peer. FailedPrecondition before the handshake completed or after it
  // ended.
  absl::Status Send(std::string_view plain);

  // Queues a close_notify alert (once): the peer learns the connection ended on purpose.
  void Close();

  // Appends every byte waiting for the peer to `wire`.
  void TakeOutgoing(std::string& wire);

  bool handshake_done() const { return handshake_done_; }
  // The peer sent close_notify.
  bool peer_closed() const { return peer_closed_; }
  // e.g. "TLSv1.3"; empty before the handshake completed.
  std::string protocol() const;

 private:
  TlsChannel() = default;

  std::shared_ptr<SSL_CTX> context_;
  SSL* ssl_ = nullptr;
  BIO* incoming_ = nullptr;  // owned by ssl_
  BIO* outgoing_ = nullptr;  // owned by ssl_
  bool handshake_done_ = false;
  bool peer_closed_ = false;
  bool failed_ = false;
  bool closed_ = false;  // Close() was called
};

// Whether the first bytes a client sent to a TLS port look like plain-text HTTP rather than a TLS
// record (which starts with 0x16, a handshake): such a client gets a readable refusal.
bool LooksLikePlainHttp(std::string_view first_bytes);

}  // namespace loch::tls
