#pragma once
// TlsServerContext: the certificate, key and protocol settings every TLS connection of one `loch
// serve` starts from; reloadable (SIGHUP) without touching connections already open.
//
// Policy (what a server facing the internet should accept, per Mozilla's "intermediate" profile):
// TLS 1.2 and 1.3 only, the server's cipher order (AES-128-GCM first); on TLS 1.2 only ECDHE key
// exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305); no renegotiation, no compression, no session tickets on 1.2 (their keys
// would outlive a certificate swap).
//
// Files are PEM: the certificate file holds the leaf first, then any intermediates (a chain); the
// key file the leaf's private key. The key file must not be readable by group or others (0600),
// except 0640 when it belongs to root (PostgreSQL's rule, which lets a `ssl-cert` group share it).

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

namespace loch::tls {

struct CertificateFiles {
  std::string cert_path;  // PEM: leaf, then intermediates
  std::string key_path;   // PEM private key of the leaf
};

// What a loaded certificate says about itself, for logs, /metrics and `--tls-self-signed`.
struct CertificateInfo {
  std::string subject;             // e.g. "CN=localhost"
  std::string sha256_fingerprint;  // of the leaf's DER, "AB:CD:..." as `openssl x509 -fingerprint`
  int64_t not_after_unix = 0;      // the leaf's expiry, seconds since 1970
};

// Counters of one TLS listener, shown on /metrics. Updated by the listener, read by anyone.
struct TlsCounters {
  std::atomic<uint64_t> handshakes{0};          // completed
  std::atomic<uint64_t> handshake_failures{0};  // the peer's bytes were not an acceptable TLS hello
  std::atomic<uint64_t> plaintext_refused{0};   // a client spoke plain text to a TLS port
  std::atomic<uint64_t> handshake_timeouts{0};  // no complete handshake within the deadline
};

class TlsServerContext {
 public:
  // Loads and checks `files` (the key must match the leaf; permissions as above).
  static absl::StatusOr<std::unique_ptr<TlsServerContext>> Load(const CertificateFiles& files);

  // Loads the files again. OK: new connections use the new certificate from now on; connections
  // already open keep theirs. Not OK: nothing changes and the message says what was wrong.
  // Thread-safe.
  absl::Status Reload();

  // The context new connections start from. Thread-safe; the caller's reference keeps it alive.
  std::shared_ptr<SSL_CTX> Current() const;
  CertificateInfo info() const;
  const CertificateFiles& files() const { return files_; }

  // Reloads, counted for /metrics.
  uint64_t reloads_ok() const { return reloads_ok_.load(); }
  uint64_t reloads_failed() const { return reloads_failed_.load(); }

 private:
  explicit TlsServerContext(CertificateFiles files) : files_(std::move(files)) {}

  const CertificateFiles files_;
  mutable std::mutex mu_;
  std::shared_ptr<SSL_CTX> current_;  // guarded by mu_
  CertificateInfo info_;              // guarded by mu_
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
};

// The OpenSSL error queue as one line (and cleared), e.g. "error:0A00010B:SSL routines::wrong
// version number"; `fallback` when the queue is empty.
std::string TakeOpenSslErrors(std::string_view fallback = "unknown TLS error");

}  // namespace loch::tls
