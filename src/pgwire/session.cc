#include "pgwire/session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/strings.h"
#include "engine/write_statement.h"
#include "fmt/format.h"
#include "pgwire/errors.h"
#include "pgwire/frontend_messages.h"
#include "pgwire/materialized_cursor.h"
#include "pgwire/sql_text.h"
#include "pgwire/startup_options.h"
#include "pgwire/types.h"
#include "pgwire/wire.h"
#include "tls/tls_channel.h"

namespace loch::pg {
namespace {

constexpr int32_t kProtocolVersion3 = 196608;  // 3.0
constexpr int32_t kSslRequestCode = 80877103;
constexpr int32_t kGssEncRequestCode = 80877104;
constexpr int32_t kCancelRequestCode = 80877102;
constexpr size_t kSendBufferFlushBytes = 256 << 10;

std::string RandomBytes(size_t count) {
  std::string bytes(count, '\0');
  FillRandomBytes(bytes.data(), count);
  return bytes;
}

// One running statement and where its output stands.
struct Execution {
  std::unique_ptr<QueryCursor> cursor;  // null for statements answered without the engine
  std::vector<int32_t> type_oids;       // per result column
  bool returns_rows = false;
  std::optional<WriteStatement::Kind> write;  // for CREATE TABLE AS / INSERT / DROP
  std::string command_tag;                    // fixed tag for statements without rows
  std::optional<ResultChunk> chunk;           // rows fetched but not sent yet
  size_t next_row = 0;
  int64_t rows_sent = 0;
  bool finished = false;
};

struct PreparedStatement {
  std::string sql;
  std::vector<int32_t> parameter_oids;  // as Parse declared them (0: unspecified)
  int parameter_count = 0;
};

struct Portal {
  std::string sql;                         // as the client prepared it, with $n placeholders
  std::vector<QueryParameter> parameters;  // bound through DuckDB, never put into the SQL
  std::optional<Execution> execution;      // started by Describe or the first Execute
};

// What one session may hold, so that no client makes the server keep memory without bound: named
// statements (drivers cache a few hundred), portals (each may hold a running query), and the bytes
// of their SQL and parameters together.
constexpr size_t kMaxPreparedStatements = 1000;
constexpr size_t kMaxOpenPortals = 256;
constexpr size_t kMaxHeldBytes = 256 << 20;

size_t BytesOf(const PreparedStatement& statement) { return statement.sql.size(); }
size_t BytesOf(const Portal& portal) {
  size_t bytes = portal.sql.size();
  for (const QueryParameter& parameter : portal.parameters)
    bytes += parameter.value.value_or("").size();
  return bytes;
}

std::string TagForWrite(WriteStatement::Kind kind, int64_t rows) {
  switch (kind) {
    case WriteStatement::Kind::kCreateTableAs:
      return fmt::format("SELECT {}", rows);
    case WriteStatement::Kind::kInsertInto:
      return fmt::format("INSERT 0 {}", rows);
    case WriteStatement::Kind::kDropTable:
      return "DROP TABLE";
    case WriteStatement::Kind::kCreateView:
      return "CREATE VIEW";
    case WriteStatement::Kind::kDropView:
      return "DROP VIEW";
    case WriteStatement::Kind::kCreateDatabase:
      return "CREATE SCHEMA";
    case WriteStatement::Kind::kCommentOnTable:
    case WriteStatement::Kind::kCommentOnColumn:
      return "COMMENT";
    case WriteStatement::Kind::kRenameTable:
    case WriteStatement::Kind::kRenameColumn:
      return "ALTER TABLE";
  }
  return "OK";
}

// Session statements loch accepts and ignores (autocommit, no session settings): their tag.
std::optional<std::string> NoOpTag(const std::vector<std::string>& words) {
  if (words.empty()) return std::nullopt;
  const std::string& first = words[0];
  if (first == "SET" || first == "RESET" || first == "DEALLOCATE" || first == "LISTEN" ||
      first == "UNLISTEN") {
    return first;
  }
  if (first == "BEGIN" || first == "START") return std::string("BEGIN");
  if (first == "COMMIT" || first == "END") return std::string("COMMIT");
  if (first == "ROLLBACK" || first == "ABORT") return std::string("ROLLBACK");
  if (first == "DISCARD") return std::string("DISCARD ALL");
  return std::nullopt;
}

// Values SHOW answers (and ParameterStatus announces).
const std::map<std::string, std::string>& Settings() {
  static const auto* settings = new std::map<std::string, std::string>{
      {"server_version", "15.0 (loch)"},
      {"server_encoding", "UTF8"},
      {"client_encoding", "UTF8"},
      {"DateStyle", "ISO, MDY"},
      {"IntervalStyle", "postgres"},
      {"TimeZone", "UTC"},
      {"integer_datetimes", "on"},
      {"standard_conforming_strings", "on"},
      {"is_superuser", "on"},
      {"transaction_isolation", "read committed"},
      {"search_path", ""},
      {"max_identifier_length", "63"},
  };
  return *settings;
}

}  // namespace

class PgSession::Impl {
 public:
  Impl(int fd, const SessionContext& context, int32_t process_id, int32_t secret_key)
      : fd_(fd), context_(context), process_id_(process_id), secret_key_(secret_key) {}
  ~Impl() { ::close(fd_); }

  void Run();
  void CancelRunningStatement() {
    std::lock_guard lock(running_mu_);
    if (running_ != nullptr) running_->Cancel();
  }
  void Shutdown() {
    CancelRunningStatement();
    ::shutdown(fd_, SHUT_RDWR);
  }

 private:
  // --- socket ---
  void SetReceiveTimeout(std::chrono::seconds timeout) {
    timeval value{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
  }
  absl::Status ReadExact(char* out, size_t count);
  absl::Status Flush();
  // Receives into in_ (decrypted when TLS is on) until it grew or a TLS handshake completed;
  // Unavailable when the client is gone.
  absl::Status Receive();
  absl::Status SendRaw(std::string_view bytes);
  // After an SSLRequest: 'S', then the TLS handshake.
  absl::Status StartTls();
  absl::Status Send(const MessageWriter& writer) {
    out_ += writer.data();
    return out_.size() >= kSendBufferFlushBytes ? Flush() : absl::OkStatus();
  }

  // --- phases ---
  // Reads the startup packet (answering SSL/GSS requests, forwarding cancel requests). nullopt when
  // the connection was a CancelRequest.
  absl::StatusOr<std::optional<std::map<std::string, std::string>>> ReadStartup();
  absl::Status Authenticate(const std::string& user);
  absl::Status SendWelcome();
  // Reads one message of at most `max_length` body bytes (small until the client is authenticated,
  // so that nobody can make the server allocate much before logging in).
  absl::StatusOr<std::pair<char, std::string>> ReadMessage(uint32_t max_length = kMaxMessageLength);

  // --- messages (each gets the body as received; see frontend_messages.h) ---
  absl::Status HandleSimpleQuery(std::string_view body);
  absl::Status HandleParse(std::string_view body);
  absl::Status HandleBind(std::string_view body);
  absl::Status HandleDescribe(std::string_view body);
  absl::Status HandleExecute(std::string_view body);
  absl::Status HandleClose(std::string_view body);

  // --- statements ---
  // Prepares `sql` for execution. `describe_only`: only the result's shape is wanted, with NULLs in
  // place of parameters not sent yet (a statement described before any Bind), so failing to bind
  // is not a failed query: the NULLs may be what failed.
  absl::StatusOr<Execution> Start(const std::string& sql,
                                  const std::vector<QueryParameter>& parameters = {},
                                  bool describe_only = false);
  absl::Status SendRowDescription(const Execution& execution);
  // Sends up to `max_rows` rows (0: all); then CommandComplete, or PortalSuspended if rows remain.
  absl::Status Pump(Execution& execution, int64_t max_rows);
  // Reports a failed statement; the position refers to the statement started last.
  absl::Status SendError(const absl::Status& status);
  absl::Status SendError(const std::string& sqlstate, const std::string& message,
                         std::optional<int> position = std::nullopt,
                         const char* severity = "ERROR");
  absl::Status SendReadyForQuery();
  // OK if `held` (statements_ or portals_) may take an entry `name` of `bytes` (replacing the one
  // of that name): at most `max_count` entries, and kMaxHeldBytes in statements and portals
  // together. ResourceExhausted saying what to do (`remedy`) otherwise.
  template <typename Held>
  absl::Status RoomFor(const Held& held, const std::string& name, size_t bytes, size_t max_count,
                       const char* what, const char* remedy) const {
    const auto replaced = held.find(name);
    if (replaced == held.end() && held.size() >= max_count) {
      return absl::ResourceExhaustedError(
          fmt::format("this session already has {} {}; {} first", held.size(), what, remedy));
    }
    size_t total = bytes;
    for (const auto& [_, statement] : statements_) total += BytesOf(statement);
    for (const auto& [_, portal] : portals_) total += BytesOf(portal);
    if (replaced != held.end()) total -= BytesOf(replaced->second);
    if (total > kMaxHeldBytes) {
      return absl::ResourceExhaustedError(fmt::format(
          "this session's prepared statements and portals would hold {} MiB, over its {} MiB; {} "
          "first",
          total >> 20, kMaxHeldBytes >> 20, remedy));
    }
    return absl::OkStatus();
  }
  // Marks `status` (a message that cannot be parsed) as ending the connection with 08P01.
  absl::Status ProtocolViolation(absl::Status status) {
    protocol_violation_ = true;
    return status;
  }
  absl::Status Serve();
  // Tells the client why its connection ends (if it is not a clean end and it can still hear).
  void Finish(const absl::Status& status);

  int fd_;
  const SessionContext& context_;
  int32_t process_id_;
  int32_t secret_key_;
  Principal principal_;
  std::string workgroup_;  // where its statements run
  std::string in_;         // received, not yet consumed
  size_t in_offset_ = 0;
  std::unique_ptr<tls::TlsChannel> tls_;  // set once the client asked for TLS and got it
  std::string cipher_;                    // TLS: the bytes of one recv, before decryption
  std::string out_;       // to send
  std::string last_sql_;  // the statement started last, for error positions
  std::map<std::string, PreparedStatement> statements_;
  std::map<std::string, Portal> portals_;
  bool skip_until_sync_ = false;     // after an error in the extended protocol
  bool broken_ = false;              // the socket failed: nothing more can be sent
  bool protocol_violation_ = false;  // the client sent something unparsable: close
  std::mutex running_mu_;
  QueryCursor* running_ = nullptr;  // the statement being executed, for cancellation

  // Sets running_ for its lifetime (or until Clear()).
  class RunningStatement {
   public:
    RunningStatement(Impl& session, QueryCursor* cursor) : session_(session) { Set(cursor); }
    ~RunningStatement() { Clear(); }
    void Clear() { Set(nullptr); }

   private:
    void Set(QueryCursor* cursor) {
      std::lock_guard lock(session_.running_mu_);
      session_.running_ = cursor;
    }
    Impl& session_;
  };
};

absl::Status PgSession::Impl::ReadExact(char* out, size_t count) {
  while (count > 0) {
    if (in_offset_ < in_.size()) {
      const size_t take = std::min(count, in_.size() - in_offset_);
      std::memcpy(out, in_.data() + in_offset_, take);
      in_offset_ += take;
      out += take;
      count -= take;
      continue;
    }
    in_.clear();
    in_offset_ = 0;
    RETURN_IF_ERROR(Receive());
  }
  return absl::OkStatus();
}

absl::Status PgSession::Impl::Receive() {
  std::string& into = tls_ ? cipher_ : in_;
  const size_t before = into.size();
  const size_t plain_before = in_.size();
  const bool handshaking = tls_ && !tls_->handshake_done();
  while (true) {
    ssize_t got = 0;
    into.resize_and_overwrite(before + (64 << 10), [&](char* data, size_t size) {
      got = ::recv(fd_, data + before, size - before, 0);
      return before + static_cast<size_t>(std::max<ssize_t>(got, 0));
    });
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      broken_ = true;
      return absl::UnavailableError("the client closed the connection");
    }
    if (!tls_) return absl::OkStatus();
    const absl::Status decrypted = tls_->Receive(cipher_, in_);
    cipher_.clear();
    std::string wire;  // handshake messages, tickets, alerts
    tls_->TakeOutgoing(wire);
    if (!wire.empty()) RETURN_IF_ERROR(SendRaw(wire));
    if (!decrypted.ok()) {
      broken_ = true;  // nothing more can be said to it in clear text
      return decrypted;
    }
    if (tls_->peer_closed()) {
      broken_ = true;
      return absl::UnavailableError("the client closed the connection");
    }
    // Back with plain text, or with the handshake done (StartTls counts it).
    if (in_.size() > plain_before || (handshaking && tls_->handshake_done()))
      return absl::OkStatus();
  }
}

absl::Status PgSession::Impl::SendRaw(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      broken_ = true;
      return absl::UnavailableError("the client connection broke while sending");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status PgSession::Impl::Flush() {
  if (broken_) {
    out_.clear();
    return absl::UnavailableError("the client connection is broken");
  }
  std::string plain;
  plain.swap(out_);
  if (!tls_) return SendRaw(plain);
  RETURN_IF_ERROR(tls_->Send(plain));
  std::string wire;
  tls_->TakeOutgoing(wire);
  return SendRaw(wire);
}

absl::Status PgSession::Impl::StartTls() {
  // Bytes the client sent after its SSLRequest, before the handshake, were not protected: a
  // man in the middle could have put them there (CVE-2021-23214). Refuse them.
  if (in_offset_ < in_.size()) {
    return ProtocolViolation(absl::InvalidArgumentError(
        "received unencrypted data after the SSL request"));
  }
  RETURN_IF_ERROR(SendRaw("S"));
  absl::StatusOr<std::unique_ptr<tls::TlsChannel>> channel =
      tls::TlsChannel::Accept(context_.tls->Current());
  if (!channel.ok()) {
    broken_ = true;  // the client expects TLS now: no plain-text error
    return channel.status();
  }
  tls_ = *std::move(channel);
  in_.clear();
  in_offset_ = 0;
  while (!tls_->handshake_done()) {
    if (absl::Status received = Receive(); !received.ok()) {
      if (context_.tls_counters) ++context_.tls_counters->handshake_failures;
      spdlog::debug("pgwire: connection {}: {}", process_id_, ToStd(received.message()));
      return received;
    }
  }
  if (context_.tls_counters) ++context_.tls_counters->handshakes;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::map<std::string, std::string>>> PgSession::Impl::ReadStartup() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    char header[8];
    RETURN_IF_ERROR(ReadExact(header, sizeof header));
    MessageReader reader(std::string_view(header, sizeof header));
    ASSIGN_OR_RETURN(const int32_t length, reader.Int32());
    ASSIGN_OR_RETURN(const int32_t code, reader.Int32());
    if (length < 8 || static_cast<uint32_t>(length) > kMaxStartupLength) {
      return absl::InvalidArgumentError(fmt::format("invalid startup packet length {}", length));
    }
    std::string body(static_cast<size_t>(length) - 8, '\0');
    RETURN_IF_ERROR(ReadExact(body.data(), body.size()));
    if (code == kSslRequestCode && context_.tls != nullptr && !tls_) {
      RETURN_IF_ERROR(StartTls());
      continue;
    }
    if (code == kSslRequestCode || code == kGssEncRequestCode) {
      // No (more) TLS, no GSSAPI encryption: the client may go on as it is (encrypted, if
      // it already is).
      out_ += 'N';
      RETURN_IF_ERROR(Flush());
      continue;
    }
    MessageReader fields(body);
    if (code == kCancelRequestCode) {
      ASSIGN_OR_RETURN(const int32_t process_id, fields.Int32());
      ASSIGN_OR_RETURN(const int32_t secret_key, fields.Int32());
      context_.cancel(process_id, secret_key);
      return std::nullopt;
    }
    if (code != kProtocolVersion3) {
      return absl::UnimplementedError(fmt::format(
          "unsupported frontend protocol {}.{}: loch supports 3.0", code >> 16, code & 0xffff));
    }
    if (context_.tls != nullptr && !tls_) {
      if (context_.tls_counters) ++context_.tls_counters->plaintext_refused;
      return absl::UnauthenticatedError(
          "this server accepts only encrypted connections: connect with sslmode=require (or "
          "verify-full with the server's CA as sslrootcert)");
    }
    std::map<std::string, std::string> parameters;
    while (true) {
      ASSIGN_OR_RETURN(std::string name, fields.CString());
      if (name.empty()) break;
      ASSIGN_OR_RETURN(std::string value, fields.CString());
      parameters[name] = std::move(value);
    }
    return parameters;
  }
  return absl::InvalidArgumentError("too many SSL/GSS requests before the startup packet");
}

absl::StatusOr<std::pair<char, std::string>> PgSession::Impl::ReadMessage(uint32_t max_length) {
  char header[5];
  RETURN_IF_ERROR(ReadExact(header, sizeof header));
  MessageReader reader(std::string_view(header + 1, 4));
  ASSIGN_OR_RETURN(const int32_t length, reader.Int32());
  if (length < 4 || static_cast<uint32_t>(length) - 4 > max_length) {
    return absl::InvalidArgumentError(
        fmt::format("invalid length {} for a message of type '{}'", length,
                    std::isprint(static_cast<unsigned char>(header[0])) ? header[0] : '?'));
  }
  std::string body(static_cast<size_t>(length) - 4, '\0');
  RETURN_IF_ERROR(ReadExact(body.data(), body.size()));
  return std::make_pair(header[0], std::move(body));
}

absl::Status PgSession::Impl::Authenticate(const std::string& user) {
  MessageWriter writer;
  writer.Begin('R').Int32(10).CString("SCRAM-SHA-256").CString("").End();
  out_ += writer.data();
  RETURN_IF_ERROR(Flush());

  ASSIGN_OR_RETURN(auto initial, ReadMessage(kMaxStartupLength));
  if (initial.first != 'p') {
    return absl::InvalidArgumentError("expected a SASLInitialResponse message");
  }
  MessageReader reader(initial.second);
  ASSIGN_OR_RETURN(const std::string mechanism, reader.CString());
  ASSIGN_OR_RETURN(const int32_t length, reader.Int32());
  if (mechanism != "SCRAM-SHA-256") {
    return absl::UnauthenticatedError(
        fmt::format("SASL mechanism \"{}\" is not supported (use SCRAM-SHA-256)", mechanism));
  }
  if (length < 0) return absl::InvalidArgumentError("SASLInitialResponse without data");
  ASSIGN_OR_RETURN(const std::string client_first, reader.Bytes(static_cast<size_t>(length)));
  RETURN_IF_ERROR(reader.ExpectEnd());

  // An unknown user goes through the same exchange against a random verifier, so the answer does
  // not tell which user names exist.
  const bool known_user = user == context_.user;
  ScramVerifier verifier =
      known_user ? context_.verifier()
                 : ScramVerifier{RandomBytes(16), 4096, RandomBytes(32), RandomBytes(32)};
  ScramExchange exchange(std::move(verifier), absl::Base64Escape(RandomBytes(18)));
  ASSIGN_OR_RETURN(const std::string server_first, exchange.ServerFirst(client_first));
  writer.Clear();
  writer.Begin('R').Int32(11).Bytes(server_first).End();
  out_ += writer.data();
  RETURN_IF_ERROR(Flush());

  ASSIGN_OR_RETURN(auto response, ReadMessage(kMaxStartupLength));
  if (response.first != 'p') return absl::InvalidArgumentError("expected a SASLResponse message");
  absl::StatusOr<std::string> server_final = exchange.ServerFinal(response.second);
  if (!server_final.ok() || !known_user) {
    if (server_final.status().code() == absl::StatusCode::kInvalidArgument) {
      return server_final.status();
    }
    return absl::UnauthenticatedError(
        fmt::format("password authentication failed for user \"{}\"", user));
  }
  writer.Clear();
  writer.Begin('R').Int32(12).Bytes(*server_final).End();
  writer.Begin('R').Int32(0).End();
  out_ += writer.data();
  return absl::OkStatus();
}

absl::Status PgSession::Impl::SendWelcome() {
  MessageWriter writer;
  for (const auto& [name, value] : Settings()) {
    writer.Begin('S').CString(name).CString(value).End();
  }
  writer.Begin('S').CString("session_authorization").CString(principal_.name).End();
  writer.Begin('K').Int32(process_id_).Int32(secret_key_).End();
  out_ += writer.data();
  return SendReadyForQuery();
}

absl::Status PgSession::Impl::SendReadyForQuery() {
  MessageWriter writer;
  writer.Begin('Z').Byte('I').End();  // always idle: every statement autocommits
  out_ += writer.data();
  return Flush();
}

absl::Status PgSession::Impl::SendError(const std::string& sqlstate, const std::string& message,
                                        std::optional<int> position, const char* severity) {
  MessageWriter writer;
  writer.Begin('E').Byte('S').CString(severity).Byte('V').CString(severity);
  writer.Byte('C').CString(sqlstate).Byte('M').CString(message);
  if (position) writer.Byte('P').CString(std::to_string(*position));
  writer.Byte(0).End();
  out_ += writer.data();
  return Flush();
}

absl::Status PgSession::Impl::SendError(const absl::Status& status) {
  // PostgreSQL messages are one line; the position goes in its own field (psql draws the caret).
  std::string message(ToStd(status.message()));
  const std::optional<int> position = ErrorPosition(last_sql_, message);
  message = message.substr(0, message.find('\n'));
  if (position) message = message.substr(0, message.rfind(" (line "));
  return SendError(SqlStateFor(status), message, position);
}

absl::StatusOr<Execution> PgSession::Impl::Start(const std::string& sql,
                                                 const std::vector<QueryParameter>& parameters,
                                                 bool describe_only) {
  Execution execution;
  last_sql_ = sql;
  const std::vector<std::string> words = LeadingKeywords(sql, 2);
  if (std::optional<std::string> tag = NoOpTag(words)) {
    execution.command_tag = *tag;
    return execution;
  }
  if (!words.empty() && words[0] == "SHOW") {
    const std::string name = words.size() > 1 ? words[1] : "";
    for (const auto& [setting, value] : Settings()) {
      if (absl::EqualsIgnoreCase(setting, name)) {
        std::vector<ResultColumn> columns = {{setting, "VARCHAR", ValueKind::kString}};
        ResultChunk chunk{1, {{value}}};
        execution.cursor = MakeMaterializedCursor(std::move(columns), std::move(chunk));
        break;
      }
    }
    if (!execution.cursor) {
      return absl::NotFoundError(fmt::format("unrecognized configuration parameter \"{}\"", name));
    }
  } else if (PgCatalogEmulation::IsCatalogQuery(sql)) {
    last_sql_.clear();  // positions would refer to the rewritten query
    ASSIGN_OR_RETURN(execution.cursor, context_.catalog->Query(principal_, sql, parameters));
  } else {
    ASSIGN_OR_RETURN(std::optional<WriteStatement> write, ParseWriteStatement(sql));
    if (write) execution.write = write->kind;
    ASSIGN_OR_RETURN(QueryService::Streamed streamed,
                     context_.queries->Stream(principal_, sql, workgroup_, parameters, "postgresql",
                                              describe_only));
    execution.cursor = std::move(streamed.cursor);
  }
  execution.returns_rows = !execution.write.has_value();
  for (const ResultColumn& column : execution.cursor->columns()) {
    execution.type_oids.push_back(TypeOidFor(column));
  }
  return execution;
}

absl::Status PgSession::Impl::SendRowDescription(const Execution& execution) {
  MessageWriter writer;
  if (!execution.returns_rows) {
    writer.Begin('n').End();  // NoData
  } else {
    const auto& columns = execution.cursor->columns();
    writer.Begin('T').Int16(static_cast<int16_t>(columns.size()));
    for (size_t i = 0; i < columns.size(); ++i) {
      writer.CString(columns[i].name).Int32(0).Int16(0).Int32(execution.type_oids[i]);
      writer.Int16(TypeSize(execution.type_oids[i])).Int32(-1).Int16(0);  // text format
    }
    writer.End();
  }
  return Send(writer);
}

absl::Status PgSession::Impl::Pump(Execution& execution, int64_t max_rows) {
  MessageWriter writer;
  if (execution.cursor && !execution.finished) {
    absl::Status failure;
    int64_t sent_now = 0;
    // CancelRequest and Shutdown interrupt the cursor while this loop runs, and never after it
    // (every way out clears it: a failed send returns from the middle).
    RunningStatement running(*this, execution.cursor.get());
    while (max_rows <= 0 || sent_now < max_rows) {
      if (!execution.chunk || execution.next_row >= execution.chunk->row_count) {
        absl::StatusOr<std::optional<ResultChunk>> next = execution.cursor->Next();
        if (!next.ok()) {
          failure = next.status();
          break;
        }
        if (!next->has_value()) {
          execution.finished = true;
          break;
        }
        execution.chunk = std::move(**next);
        execution.next_row = 0;
        continue;  // the chunk may be empty
      }
      if (!execution.returns_rows) {
        // A write statement's summary row: operation, table, rows, ...
        execution.rows_sent = std::stoll(execution.chunk->cells[2][0].value_or("0"));
        execution.next_row = execution.chunk->row_count;
        continue;
      }
      const ResultChunk& chunk = *execution.chunk;
      const size_t row = execution.next_row++;
      writer.Begin('D').Int16(static_cast<int16_t>(chunk.cells.size()));
      for (size_t column = 0; column < chunk.cells.size(); ++column) {
        const std::optional<std::string> text =
            ToPgText(chunk.cells[column][row], execution.type_oids[column]);
        if (!text) {
          writer.Int32(-1);
        } else {
          writer.Int32(static_cast<int32_t>(text->size())).Bytes(*text);
        }
      }
      writer.End();
      ++sent_now;
      ++execution.rows_sent;
      if (writer.data().size() >= kSendBufferFlushBytes) {
        RETURN_IF_ERROR(Send(writer));
        writer.Clear();
      }
    }
    running.Clear();
    RETURN_IF_ERROR(Send(writer));
    writer.Clear();
    if (!failure.ok()) return failure;
    if (!execution.finished) {
      writer.Begin('s').End();  // PortalSuspended: Execute again for more
      return Send(writer);
    }
  }
  execution.finished = true;
  std::string tag = execution.command_tag;
  if (execution.write) {
    tag = TagForWrite(*execution.write, execution.rows_sent);
  } else if (execution.cursor) {
    tag = fmt::format("SELECT {}", execution.rows_sent);
  }
  writer.Begin('C').CString(tag).End();
  return Send(writer);
}

absl::Status PgSession::Impl::HandleSimpleQuery(std::string_view body) {
  absl::StatusOr<std::string> text = DecodeQuery(body);
  if (!text.ok()) return ProtocolViolation(text.status());
  const std::vector<std::string> statements = SplitStatements(*text);
  if (statements.empty()) {
    MessageWriter writer;
    writer.Begin('I').End();  // EmptyQueryResponse
    RETURN_IF_ERROR(Send(writer));
  }
  for (const std::string& sql : statements) {
    absl::StatusOr<Execution> execution = Start(sql);
    absl::Status done = execution.status();
    if (done.ok()) {
      RETURN_IF_ERROR(SendRowDescription(*execution));
      done = Pump(*execution, 0);
    }
    if (!done.ok()) {
      if (broken_) return done;
      RETURN_IF_ERROR(SendError(done));
      break;  // the rest of the message is skipped, as PostgreSQL does
    }
  }
  return SendReadyForQuery();
}

absl::Status PgSession::Impl::HandleParse(std::string_view body) {
  absl::StatusOr<ParseMessage> parse = DecodeParse(body);
  if (!parse.ok()) return ProtocolViolation(parse.status());
  const std::string& name = parse->statement;
  PreparedStatement statement;
  statement.sql = std::move(parse->sql);
  statement.parameter_oids = std::move(parse->parameter_oids);
  if (!name.empty() && statements_.count(name) > 0) {
    return absl::AlreadyExistsError(fmt::format("prepared statement \"{}\" already exists", name));
  }
  if (SplitStatements(statement.sql).size() > 1) {
    return absl::InvalidArgumentError("cannot insert multiple commands into a prepared statement");
  }
  statement.parameter_count = std::max<int>(CountParameters(statement.sql),
                                            static_cast<int>(statement.parameter_oids.size()));
  RETURN_IF_ERROR(RoomFor(statements_, name, BytesOf(statement), kMaxPreparedStatements,
                          "prepared statements", "close (DEALLOCATE) some"));
  statements_[name] = std::move(statement);
  MessageWriter writer;
  writer.Begin('1').End();  // ParseComplete
  return Send(writer);
}

absl::Status PgSession::Impl::HandleBind(std::string_view body) {
  absl::StatusOr<BindMessage> bind = DecodeBind(body);
  if (!bind.ok()) return ProtocolViolation(bind.status());
  std::vector<std::optional<std::string>>& values = bind->values;

  const auto statement = statements_.find(bind->statement);
  if (statement == statements_.end()) {
    return absl::NotFoundError(
        fmt::format("prepared statement \"{}\" does not exist", bind->statement));
  }
  for (const int16_t format : bind->parameter_formats) {
    if (format != 0) return absl::UnimplementedError("binary parameter format is not supported");
  }
  for (const int16_t format : bind->result_formats) {
    if (format != 0) return absl::UnimplementedError("binary result format is not supported");
  }
  if (static_cast<int>(values.size()) != statement->second.parameter_count) {
    return absl::InvalidArgumentError(fmt::format(
        "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
        values.size(), bind->statement, statement->second.parameter_count));
  }
  Portal portal{statement->second.sql, {}, std::nullopt};
  const std::vector<int32_t>& oids = statement->second.parameter_oids;
  for (size_t i = 0; i < values.size(); ++i) {
    portal.parameters.push_back(
        QueryParameter{std::move(values[i]), i < oids.size() ? DuckTypeForOid(oids[i]) : ""});
  }
  RETURN_IF_ERROR(RoomFor(portals_, bind->portal, BytesOf(portal), kMaxOpenPortals, "open portals",
                          "close some"));
  portals_[bind->portal] = std::move(portal);
  MessageWriter writer;
  writer.Begin('2').End();  // BindComplete
  return Send(writer);
}

absl::Status PgSession::Impl::HandleDescribe(std::string_view body) {
  absl::StatusOr<TargetMessage> describe = DecodeDescribe(body);
  if (!describe.ok()) return ProtocolViolation(describe.status());
  const std::string& name = describe->name;

  if (describe->kind == 'S') {
    const auto statement = statements_.find(name);
    if (statement == statements_.end()) {
      return absl::NotFoundError(fmt::format("prepared statement \"{}\" does not exist", name));
    }
    const PreparedStatement& prepared = statement->second;
    MessageWriter writer;
    writer.Begin('t').Int16(static_cast<int16_t>(prepared.parameter_count));
    for (int i = 0; i < prepared.parameter_count; ++i) {
      const int32_t declared =
          i < static_cast<int>(prepared.parameter_oids.size()) ? prepared.parameter_oids[i] : 0;
      writer.Int32(declared != 0 ? declared : kText);
    }
    writer.End();
    RETURN_IF_ERROR(Send(writer));
    // The result's shape, from the statement bound with NULLs (nothing runs).
    ASSIGN_OR_RETURN(Execution execution,
                     Start(prepared.sql, std::vector<QueryParameter>(prepared.parameter_count),
                           /*describe_only=*/prepared.parameter_count > 0));
    return SendRowDescription(execution);
  }
  const auto portal = portals_.find(name);  // a portal: the decoder knows no other kinds
  if (portal == portals_.end()) {
    return absl::NotFoundError(fmt::format("portal \"{}\" does not exist", name));
  }
  if (!portal->second.execution) {
    ASSIGN_OR_RETURN(portal->second.execution,
                     Start(portal->second.sql, portal->second.parameters));
  }
  return SendRowDescription(*portal->second.execution);
}

absl::Status PgSession::Impl::HandleExecute(std::string_view body) {
  absl::StatusOr<ExecuteMessage> execute = DecodeExecute(body);
  if (!execute.ok()) return ProtocolViolation(execute.status());
  const auto portal = portals_.find(execute->portal);
  if (portal == portals_.end()) {
    return absl::NotFoundError(fmt::format("portal \"{}\" does not exist", execute->portal));
  }
  if (!portal->second.execution) {
    ASSIGN_OR_RETURN(portal->second.execution,
                     Start(portal->second.sql, portal->second.parameters));
  }
  return Pump(*portal->second.execution, execute->max_rows);
}

absl::Status PgSession::Impl::HandleClose(std::string_view body) {
  absl::StatusOr<TargetMessage> close = DecodeClose(body);
  if (!close.ok()) return ProtocolViolation(close.status());
  if (close->kind == 'S') {
    statements_.erase(close->name);
  } else {
    portals_.erase(close->name);
  }
  MessageWriter writer;
  writer.Begin('3').End();  // CloseComplete
  return Send(writer);
}

absl::Status PgSession::Impl::Serve() {
  // A client gets 30 s to log in, so idle connections cannot hold every slot.
  SetReceiveTimeout(std::chrono::seconds(30));
  ASSIGN_OR_RETURN(auto startup, ReadStartup());
  if (!startup) return absl::OkStatus();  // a CancelRequest: nothing is answered
  const std::string user = (*startup)["user"];
  if (user.empty()) {
    return absl::UnauthenticatedError("no PostgreSQL user name specified in startup packet");
  }
  principal_ = Principal{user, /*is_admin=*/true};
  workgroup_ = WorkgroupOfStartupOptions((*startup)["options"]);
  RETURN_IF_ERROR(Authenticate(user));
  RETURN_IF_ERROR(context_.queries->CheckWorkgroup(principal_, workgroup_));
  RETURN_IF_ERROR(SendWelcome());
  SetReceiveTimeout(std::chrono::seconds(0));  // logged in: sessions may idle
  while (true) {
    ASSIGN_OR_RETURN(auto message, ReadMessage());
    const auto& [type, text] = message;
    if (type == 'X') return absl::OkStatus();  // Terminate
    if (type == 'S') {                         // Sync: the (implicit) transaction ends
      skip_until_sync_ = false;
      portals_.clear();
      RETURN_IF_ERROR(SendReadyForQuery());
      continue;
    }
    if (skip_until_sync_) continue;
    absl::Status handled;
    switch (type) {
      case 'Q':
        handled = HandleSimpleQuery(text);
        break;
      case 'P':
        handled = HandleParse(text);
        break;
      case 'B':
        handled = HandleBind(text);
        break;
      case 'D':
        handled = HandleDescribe(text);
        break;
      case 'E':
        handled = HandleExecute(text);
        break;
      case 'C':
        handled = HandleClose(text);
        break;
      case 'H':
        handled = Flush();
        break;
      case 'd':
      case 'c':
      case 'f':
        handled = absl::UnimplementedError("COPY is not supported");
        break;
      default:
        return ProtocolViolation(absl::InvalidArgumentError(fmt::format(
            "invalid frontend message type {}", static_cast<int>(static_cast<uint8_t>(type)))));
    }
    if (handled.ok()) continue;
    if (broken_ || protocol_violation_) return handled;
    RETURN_IF_ERROR(SendError(handled));
    if (type != 'Q') skip_until_sync_ = true;  // extended protocol: ignore until Sync
  }
}

void PgSession::Impl::Run() {
  const absl::Status status = Serve();
  Finish(status);
  ::shutdown(fd_, SHUT_RDWR);  // the client sees the end now, not when the thread is reaped
}

void PgSession::Impl::Finish(const absl::Status& status) {
  if (status.ok() || broken_) return;
  // The connection ends here; tell the client why if it can still hear it.
  std::string sqlstate = SqlStateFor(status);
  if (protocol_violation_ || absl::IsInvalidArgument(status)) {
    sqlstate = sqlstate::kProtocolViolation;
  }
  spdlog::info("pgwire: closing connection {}: {}", process_id_, ToStd(status.message()));
  (void)SendError(sqlstate, std::string(ToStd(status.message())), std::nullopt, "FATAL");
}

PgSession::PgSession(int fd, const SessionContext& context, int32_t process_id, int32_t secret_key)
    : impl_(std::make_unique<Impl>(fd, context, process_id, secret_key)), secret_key_(secret_key) {}
PgSession::~PgSession() = default;
void PgSession::Run() { impl_->Run(); }
void PgSession::CancelRunningStatement() { impl_->CancelRunningStatement(); }
void PgSession::Shutdown() { impl_->Shutdown(); }

}  // namespace loch::pg
