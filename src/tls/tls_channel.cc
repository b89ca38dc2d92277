#include "tls/tls_channel.h"

#include <openssl/err.h>

#include <algorithm>
#include <cctype>

#include "tls/tls_context.h"

namespace loch::tls {
namespace {

constexpr size_t kDecryptChunk = 16 << 10;  // a TLS record's largest plain text

}  // namespace

absl::StatusOr<std::unique_ptr<TlsChannel>> TlsChannel::Accept(std::shared_ptr<SSL_CTX> context) {
  std::unique_ptr<TlsChannel> channel(new TlsChannel());
  channel->context_ = std::move(context);
  channel->ssl_ = SSL_new(channel->context_.get());
  channel->incoming_ = BIO_new(BIO_s_mem());
  channel->outgoing_ = BIO_new(BIO_s_mem());
  if (channel->ssl_ == nullptr || channel->incoming_ == nullptr || channel->outgoing_ == nullptr) {
    BIO_free(channel->incoming_);
    BIO_free(channel->outgoing_);
    channel->incoming_ = channel->outgoing_ = nullptr;
    return absl::ResourceExhaustedError("cannot start a TLS connection: " + TakeOpenSslErrors());
  }
  // An empty memory BIO reads as "retry later", not as the end of the stream.
  BIO_set_mem_eof_return(channel->incoming_, -1);
  SSL_set_bio(channel->ssl_, channel->incoming_, channel->outgoing_);
  SSL_set_accept_state(channel->ssl_);
  return channel;
}

TlsChannel::~TlsChannel() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees both BIOs
}

absl::Status TlsChannel::Receive(std::string_view cipher, std::string& plain) {
  if (failed_) return absl::FailedPreconditionError("the TLS connection already failed");
  ERR_clear_error();
  // A memory BIO takes all it is given (it grows); the caller reads in bounded chunks.
  if (!cipher.empty() && BIO_write(incoming_, cipher.data(), static_cast<int>(cipher.size())) !=
                             static_cast<int>(cipher.size())) {
    failed_ = true;
    return absl::ResourceExhaustedError("cannot buffer TLS input: " + TakeOpenSslErrors());
  }
  while (!peer_closed_) {
    const size_t before = plain.size();
    int n = 0;
    plain.resize_and_overwrite(before + kDecryptChunk, [&](char* data, size_t) {
      n = SSL_read(ssl_, data + before, kDecryptChunk);
      return before + static_cast<size_t>(std::max(n, 0));
    });
    if (!handshake_done_ && SSL_is_init_finished(ssl_)) handshake_done_ = true;
    if (n > 0) continue;
    switch (SSL_get_error(ssl_, n)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:  // memory BIOs never refuse a write; kept for completeness
        return absl::OkStatus();
      case SSL_ERROR_ZERO_RETURN:
        peer_closed_ = true;
        return absl::OkStatus();
      default:
        failed_ = true;
        return absl::InvalidArgumentError(
            (handshake_done_ ? "TLS error: " : "TLS handshake failed: ") +
            TakeOpenSslErrors("the peer's bytes are not TLS"));
    }
  }
  return absl::OkStatus();
}

absl::Status TlsChannel::Send(std::string_view plain) {
  if (failed_ || !handshake_done_)
    return absl::FailedPreconditionError("the TLS connection is not established");
  ERR_clear_error();
  while (!plain.empty()) {
    size_t written = 0;
    if (SSL_write_ex(ssl_, plain.data(), plain.size(), &written) != 1) {
      failed_ = true;
      return absl::InternalError("cannot encrypt: " + TakeOpenSslErrors());
    }
    plain.remove_prefix(written);
  }
  return absl::OkStatus();
}

void TlsChannel::Close() {
  if (!failed_ && handshake_done_ && !closed_) SSL_shutdown(ssl_);
  closed_ = true;
}

void TlsChannel::TakeOutgoing(std::string& wire) {
  while (const size_t pending = BIO_ctrl_pending(outgoing_)) {
    const int take = static_cast<int>(std::min<size_t>(pending, 1 << 30));
    const size_t before = wire.size();
    int n = 0;
    wire.resize_and_overwrite(before + take, [&](char* data, size_t) {
      n = BIO_read(outgoing_, data + before, take);
      return before + static_cast<size_t>(std::max(n, 0));
    });
    if (n <= 0) return;
  }
}

std::string TlsChannel::protocol() const {
  return handshake_done_ ? SSL_get_version(ssl_) : "";
}

bool LooksLikePlainHttp(std::string_view first_bytes) {
  // Every HTTP method is upper-case letters followed by a space; a TLS record starts with 0x16.
  size_t letters = 0;
  while (letters < first_bytes.size() && std::isupper(static_cast<unsigned char>(first_bytes[letters])))
    ++letters;
  return letters > 0 && (letters == first_bytes.size() || first_bytes[letters] == ' ');
}

}  // namespace loch::tls
