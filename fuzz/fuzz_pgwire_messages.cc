// What a PostgreSQL client sends, read two ways; the input's first byte picks which (the seeds
// use 's' and 'd'):
//  - odd ('s'): the rest is a connection's bytes, served by a real PgSession over a socketpair:
//    the startup packet (SSLRequest and GSSENCRequest answered 'N', CancelRequest, StartupMessage
//    and its parameters), then the framing of SASLInitialResponse and SASLResponse and the SCRAM
//    exchange. That is all a client reaches before it is authenticated: the server's nonce is
//    random, so no input logs in (and nothing here needs an engine).
//  - even ('d'): the rest is a sequence of messages (type byte, Int32 length counting itself,
//    body) as a logged-in client sends them; each body is decoded as the session decodes it
//    (pgwire/frontend_messages.h), and one that decodes must encode back to the same bytes.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/logging.h"
#include "pgwire/frontend_messages.h"
#include "pgwire/scram.h"
#include "pgwire/session.h"
#include "pgwire/wire.h"

namespace {

using loch::pg::MessageWriter;

const loch::pg::SessionContext& Context() {
  static const loch::pg::SessionContext* context = [] {
    auto* shared = new loch::pg::SessionContext;
    shared->user = "fuzz";
    shared->verifier = [verifier = loch::pg::MakeScramVerifier("pencil", "QSXCR+Q6sek8bf92", 16)] {
      return verifier;
    };
    shared->cancel = [](int32_t, int32_t) {};
    return shared;
  }();
  return *context;
}

// Serves `client_bytes` as one connection: all of it is queued on the socket (what does not fit
// its buffer is dropped, which no input of -max_len reaches), then the client shuts its side, so
// the session reads the bytes and then the end of the stream, and Run returns.
void ServeConnection(std::string_view client_bytes) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  while (!client_bytes.empty()) {
    const ssize_t sent = ::send(fds[1], client_bytes.data(), client_bytes.size(), MSG_DONTWAIT);
    if (sent <= 0) break;
    client_bytes.remove_prefix(static_cast<size_t>(sent));
  }
  ::shutdown(fds[1], SHUT_WR);
  {
    loch::pg::PgSession session(fds[0], Context(), /*process_id=*/1, /*secret_key=*/2);
    session.Run();
  }  // closes fds[0]
  ::close(fds[1]);
}

// Aborts unless a message that decoded encodes (with `encode`, as a client would) back to `body`.
template <typename Message, typename Encoder>
void ExpectRoundTrip(const absl::StatusOr<Message>& decoded, std::string_view body,
                     Encoder encode) {
  if (!decoded.ok()) return;
  MessageWriter writer;
  encode(writer, *decoded);
  if (writer.data() != body) {
    std::fprintf(stderr, "a decoded message does not encode back to its %zu bytes\n", body.size());
    std::abort();
  }
}

void EncodeParse(MessageWriter& writer, const loch::pg::ParseMessage& parse) {
  writer.CString(parse.statement).CString(parse.sql);
  writer.Int16(static_cast<int16_t>(parse.parameter_oids.size()));
  for (const int32_t oid : parse.parameter_oids) writer.Int32(oid);
}

void EncodeBind(MessageWriter& writer, const loch::pg::BindMessage& bind) {
  writer.CString(bind.portal).CString(bind.statement);
  writer.Int16(static_cast<int16_t>(bind.parameter_formats.size()));
  for (const int16_t format : bind.parameter_formats) writer.Int16(format);
  writer.Int16(static_cast<int16_t>(bind.values.size()));
  for (const auto& value : bind.values) {
    if (!value) {
      writer.Int32(-1);
    } else {
      writer.Int32(static_cast<int32_t>(value->size())).Bytes(*value);
    }
  }
  writer.Int16(static_cast<int16_t>(bind.result_formats.size()));
  for (const int16_t format : bind.result_formats) writer.Int16(format);
}

void EncodeTarget(MessageWriter& writer, const loch::pg::TargetMessage& target) {
  writer.Byte(static_cast<uint8_t>(target.kind)).CString(target.name);
}

// Decodes the body of one message of `type` as the session does after login.
void DecodeMessage(char type, std::string_view body) {
  switch (type) {
    case 'Q':
      return ExpectRoundTrip(
          loch::pg::DecodeQuery(body), body,
          [](MessageWriter& writer, const std::string& text) { writer.CString(text); });
    case 'P':
      return ExpectRoundTrip(loch::pg::DecodeParse(body), body, EncodeParse);
    case 'B':
      return ExpectRoundTrip(loch::pg::DecodeBind(body), body, EncodeBind);
    case 'D':
      return ExpectRoundTrip(loch::pg::DecodeDescribe(body), body, EncodeTarget);
    case 'C':
      return ExpectRoundTrip(loch::pg::DecodeClose(body), body, EncodeTarget);
    case 'E':
      return ExpectRoundTrip(loch::pg::DecodeExecute(body), body,
                             [](MessageWriter& writer, const loch::pg::ExecuteMessage& execute) {
                               writer.CString(execute.portal).Int32(execute.max_rows);
                             });
    default:
      return;  // Sync, Flush, Terminate: no body to read; anything else closes the connection
  }
}

// Decodes each framed message of `messages` until one is cut short.
void DecodeMessages(std::string_view messages) {
  loch::pg::MessageReader frames(messages);
  while (frames.remaining() > 0) {
    const absl::StatusOr<uint8_t> type = frames.Byte();
    const absl::StatusOr<int32_t> length = type.ok() ? frames.Int32() : type.status();
    if (!length.ok() || *length < 4) return;
    const absl::StatusOr<std::string> body = frames.Bytes(static_cast<size_t>(*length) - 4);
    if (!body.ok()) return;
    DecodeMessage(static_cast<char>(*type), *body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  loch::InitLogging("off");  // every rejected connection would log a line
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) {
    ServeConnection(rest);
  } else {
    DecodeMessages(rest);
  }
  return 0;
}
