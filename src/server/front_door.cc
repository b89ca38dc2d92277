#include "server/front_door.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/guarded.h"
#include "common/logging.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "server/http_request_parser.h"
#include "server/http_status.h"
#include "tls/tls_channel.h"

namespace loch {
namespace {

constexpr uint64_t kListenEvent = 0;  // epoll data of the listening socket
constexpr uint64_t kWakeEvent = 1;    // epoll data of a loop's eventfd
constexpr size_t kReadChunk = 64 << 10;
// A busy connection stops reading once this much of its next requests waits unparsed.
constexpr size_t kMaxPipelinedBytes = 64 << 10;
// Answers a client has not read yet, per connection: past this, no further request of its is
// parsed or read until it reads (a client that pipelines without reading cannot grow them).
constexpr size_t kMaxUnsentBytes = 1 << 20;
constexpr size_t kKeepInputBytes = 1 << 20;  // more input buffer than this is freed once empty
constexpr size_t kSealChunk = 256 << 10;     // HTTPS: plain text encrypted per step of a write

// Reads one whole request from memory and keeps what cpp-httplib writes back.
class MemoryStream : public httplib::Stream {
 public:
  MemoryStream(std::string_view request, std::string& response, const std::string& peer_ip,
               int peer_port)
      : request_(request), response_(response), peer_ip_(peer_ip), peer_port_(peer_port) {}

  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, request_.size());
    std::memcpy(ptr, request_.data(), n);
    request_.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    response_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_ip_;
    port = peer_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  std::string_view request_;
  std::string& response_;
  const std::string& peer_ip_;
  int peer_port_;
};

const char* ReasonPhrase(int status) {
  static const std::map<int, const char*> kPhrases = {{200, "OK"},
                                                      {201, "Created"},
                                                      {204, "No Content"},
                                                      {400, "Bad Request"},
                                                      {401, "Unauthorized"},
                                                      {403, "Forbidden"},
                                                      {404, "Not Found"},
                                                      {408, "Request Timeout"},
                                                      {409, "Conflict"},
                                                      {413, "Payload Too Large"},
                                                      {429, "Too Many Requests"},
                                                      {500, "Internal Server Error"},
                                                      {501, "Not Implemented"},
                                                      {503, "Service Unavailable"}};
  const auto it = kPhrases.find(status);
  return it == kPhrases.end() ? "Status" : it->second;  // clients read the code, not the phrase
}

// `response` as HTTP/1.1 bytes.
std::string Serialize(const httplib::Response& response, bool keep_alive) {
  const int status = response.status < 0 ? 200 : response.status;
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, ReasonPhrase(status));
  for (const auto& [name, value] : response.headers) {
    if (name == "Content-Length" || name == "Connection") continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out += fmt::format("Content-Length: {}\r\n", response.body.size());
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += response.body;
  return out;
}

// A plain-text answer the front door gives by itself (malformed or oversized requests, no room).
std::string Refusal(int status, const std::string& message) {
  httplib::Response response;
  response.status = status;
  if (status == 503) response.set_header("Retry-After", "1");
  response.set_content(message + "\n", "text/plain");
  return Serialize(response, /*keep_alive=*/false);
}

// An Accept-Encoding value without "br": cpp-httplib compresses answers with brotli at its
// highest quality (11) when a client takes it, as browsers do, and that costs 15 to 30 times the
// time of gzip (a 380 KB CSV page: 0.88 s against 0.06 s on a 2-core VM) for little gain; the
// client gets gzip instead.
std::string WithoutBrotli(std::string_view accepted) {
  std::string kept;
  for (std::string_view item : Split(accepted, ',')) {
    std::string_view name = item.substr(0, item.find(';'));
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (EqualsIgnoringCase(name, "br")) continue;
    if (!kept.empty()) kept += ",";
    kept += item;
  }
  return kept;
}

bool IsExpectContinue(const httplib::Request& request) {
  return strcasecmp(request.get_header_value("Expect").c_str(), "100-continue") == 0;
}

enum class Sent { kAll, kBlocked, kFailed };

// Sends `bytes` from `sent` on, as far as the socket takes them now.
Sent SendPending(int fd, const std::string& bytes, size_t& sent) {
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Sent::kBlocked;
    return Sent::kFailed;
  }
  return Sent::kAll;
}

}  // namespace

RoutedServer::RoutedServer() {
  set_keep_alive_max_count(1000000);
  set_keep_alive_timeout(FrontDoorOptions().idle_timeout.count());
}

RoutedServer::Answer RoutedServer::Route(std::string_view request, const std::string& peer_ip,
                                         int peer_port, bool close_after) {
  Answer answer;
  MemoryStream stream(request, answer.response, peer_ip, peer_port);
  bool closed = false;
  const bool ok = process_request(stream, close_after, closed, nullptr);
  answer.close = closed || close_after || !ok;
  if (answer.response.empty()) {
    answer.response = Refusal(500, "the request could not be answered");
    answer.close = true;
  }
  return answer;
}

// One event-loop thread and the connections it owns.
class FrontDoor::Loop {
 public:
  Loop(FrontDoor& door, int index) : door_(door), index_(index) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    watching_ = Watch(wake_fd_, kWakeEvent, EPOLLIN);
  }

  ~Loop() {
    for (auto& [id, connection] : connections_) {
      if (connection->fd >= 0) ::close(connection->fd);
    }
    ::close(wake_fd_);
    ::close(epoll_fd_);
  }

  bool ok() const { return epoll_fd_ >= 0 && wake_fd_ >= 0 && watching_; }

  bool WatchListener(int fd) { return Watch(fd, kListenEvent, EPOLLIN); }

  // Serves until stopped and every request in progress is answered.
  void Run();

  // From any thread (Stop from a signal handler too).
  void Stop() {
    stopping_ = true;
    Wake();
  }
  void Adopt(int fd, std::string peer_ip, int peer_port) {
    Mail mail;
    mail.adopt_fd = fd;
    mail.peer_ip = std::move(peer_ip);
    mail.peer_port = peer_port;
    Send(std::move(mail));
  }

 private:
  // A client's connection; as its parser's observer, it admits and charges the request bodies.
  struct Connection : HttpRequestParser::Observer {
    explicit Connection(Loop& owner)
        : loop(&owner), parser(owner.door_.options_.max_body_bytes, this) {}
    void OnRequestBegin() override;
    std::optional<HttpRefusal> OnHeadersComplete(const httplib::Request& request,
                                                 bool has_body) override;
    std::optional<HttpRefusal> OnBodyBytes(size_t bytes) override;

    int fd = -1;
    uint64_t id = 0;
    std::string peer_ip;
    int peer_port = 0;
    Loop* loop;
    HttpRequestParser parser;
    std::string in;           // received, not yet parsed
    size_t charged = 0;       // body bytes counted against the door's max_buffered_body_bytes
    bool in_request = false;  // a request's first byte arrived and it is not yet whole
    std::chrono::steady_clock::time_point request_started;
    bool busy = false;         // a request is being answered
    bool read_paused = false;  // stopped reading while busy (too much pipelined)
    bool closing = false;      // close once `out` is sent
    std::string out;           // answers to send (on TLS: encrypted into `wire` by Write)
    size_t sent = 0;
    std::chrono::steady_clock::time_point last_active;
    // HTTPS only: the connection's TLS state and its encrypted bytes not yet sent.
    std::unique_ptr<tls::TlsChannel> tls;
    std::string wire;
    size_t wire_sent = 0;
    bool received_any = false;  // a first byte arrived (a plain-text client shows in it)
    std::chrono::steady_clock::time_point accepted;
    // Set while the connection carries a streamed answer (HttpStream): true once it is closed.
    std::shared_ptr<std::atomic<bool>> stream_gone;
  };

  // An answer or a new connection, from another thread.
  struct Mail {
    uint64_t connection = 0;
    std::string response;
    bool close = false;
    bool partial = false;  // a piece of a streamed answer: the request goes on
    int adopt_fd = -1;
    std::string peer_ip;
    int peer_port = 0;

    static Mail Answer(uint64_t connection, std::string response, bool close) {
      Mail mail;
      mail.connection = connection;
      mail.response = std::move(response);
      mail.close = close;
      return mail;
    }
  };

  // False (errno set) if epoll cannot watch `fd`, e.g. out of memory or over max_user_watches.
  bool Watch(int fd, uint64_t data, uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = data;
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0;
  }

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  // A piece of a streamed answer arrived for `connection`.
  void StreamPiece(Connection& connection, std::string bytes);

  void Send(Mail mail) {
    if (current_loop == this) return local_.push_back(std::move(mail));
    bool was_empty = false;
    {
      std::lock_guard lock(mailbox_mu_);
      was_empty = mailbox_.empty();
      mailbox_.push_back(std::move(mail));
    }
    if (was_empty) Wake();
  }

  void Accept();
  void AddConnection(int fd, std::string peer_ip, int peer_port);
  void ReadMail();
  void HandleMail(Mail& mail);
  void OnEvent(Connection& connection, uint32_t events);
  // Reads what arrived and parses it. `peer_done`: the client shut down its side (EPOLLRDHUP), so
  // read until the end of stream is seen (with an edge-triggered socket no later event says so).
  void ReadFrom(Connection& connection, bool peer_done = false);
  // One read of the socket into the connection's unparsed bytes (decrypted on HTTPS). As ::read:
  // the bytes read from the socket, 0 at its end, -1 with errno; kEnded when the connection was
  // refused and answered or closed (a TLS failure, a plain-text client).
  static constexpr ssize_t kEnded = -2;
  ssize_t ReadSome(Connection& connection);
  ssize_t DecryptInto(Connection& connection, std::string_view cipher);
  void ParseRequests(Connection& connection);
  // Whether the connection's unsent answers are over kMaxUnsentBytes.
  static bool BackedUp(const Connection& connection) {
    return connection.out.size() - connection.sent + connection.wire.size() - connection.wire_sent >
           kMaxUnsentBytes;
  }
  void Dispatch(Connection& connection);
  void Answer(Connection& connection, std::string response, bool close);
  void Write(Connection& connection);
  void WriteEncrypted(Connection& connection);
  void Close(Connection& connection);
  void SweepIdle();
  // Counts `bytes` of request body against the door's limit; a 503 refusal if over.
  std::optional<HttpRefusal> Charge(Connection& connection, size_t bytes);
  void Uncharge(Connection& connection);
  bool Drained() const { return connections_.empty(); }

  static thread_local Loop* current_loop;

  FrontDoor& door_;
  const int index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool watching_ = false;  // the eventfd is watched
  std::atomic<bool> stopping_{false};
  bool stopped_accepting_ = false;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_id_ = 2;  // 0 and 1 are the listener's and the eventfd's
  size_t next_loop_ = 0;  // round-robin of accepted connections (loop 0 accepts)
  std::mutex mailbox_mu_;
  std::vector<Mail> mailbox_;
  std::vector<Mail> local_;  // answers given on this thread, handled after the current event
  std::string cipher_;       // HTTPS: what one read took from a socket, before decryption
};

thread_local FrontDoor::Loop* FrontDoor::Loop::current_loop = nullptr;

void FrontDoor::Loop::Run() {
  current_loop = this;
  epoll_event events[128];
  auto last_sweep = std::chrono::steady_clock::now();
  while (true) {
    if (stopping_ && !stopped_accepting_) {
      stopped_accepting_ = true;
      if (index_ == 0) {  // new connections are refused from now on
        ::close(door_.listen_fd_);
        door_.listen_fd_ = -1;
      }
      std::vector<Connection*> idle;
      for (auto& [id, connection] : connections_) {
        if (connection->busy && !connection->stream_gone) {
          connection->closing = true;  // answered, then closed
        } else {
          idle.push_back(connection.get());
        }
      }
      for (Connection* connection : idle) Close(*connection);
    }
    if (stopped_accepting_ && Drained()) break;
    const int n = ::epoll_wait(epoll_fd_, events, std::size(events), 1000);
    for (int i = 0; i < n; ++i) {
      const uint64_t data = events[i].data.u64;
      if (data == kListenEvent) {
        Accept();
      } else if (data == kWakeEvent) {
        ReadMail();
      } else if (auto it = connections_.find(data); it != connections_.end()) {
        OnEvent(*it->second, events[i].events);
      }
      while (!local_.empty()) {
        std::vector<Mail> mail;
        mail.swap(local_);
        for (Mail& one : mail) HandleMail(one);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sweep > std::chrono::seconds(1)) {
      last_sweep = now;
      SweepIdle();
    }
  }
  current_loop = nullptr;
}

void FrontDoor::Loop::Accept() {
  while (!stopping_) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd = ::accept4(door_.listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        spdlog::warn("http: cannot accept a connection: {}", std::strerror(errno));
      }
      return;
    }
    if (door_.open_connections_.load() >= door_.options_.max_connections) {
      ::close(fd);  // over the limit: the client sees the connection closed
      continue;
    }
    ++door_.open_connections_;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // see field notes
    char host[NI_MAXHOST] = "";
    char service[NI_MAXSERV] = "";
    ::getnameinfo(reinterpret_cast<sockaddr*>(&address), length, host, sizeof host, service,
                  sizeof service, NI_NUMERICHOST | NI_NUMERICSERV);
    Loop& owner = *door_.loops_[next_loop_++ % door_.loops_.size()];
    if (&owner == this) {
      AddConnection(fd, host, std::atoi(service));
    } else {
      owner.Adopt(fd, host, std::atoi(service));
    }
  }
}

void FrontDoor::Loop::AddConnection(int fd, std::string peer_ip, int peer_port) {
  if (stopped_accepting_) {
    ::close(fd);
    --door_.open_connections_;
    return;
  }
  auto connection = std::make_unique<Connection>(*this);
  connection->fd = fd;
  connection->id = next_id_++;
  connection->peer_ip = std::move(peer_ip);
  connection->peer_port = peer_port;
  connection->last_active = connection->accepted = std::chrono::steady_clock::now();
  if (door_.options_.tls != nullptr) {
    absl::StatusOr<std::unique_ptr<tls::TlsChannel>> channel =
        tls::TlsChannel::Accept(door_.options_.tls->Current());
    if (!channel.ok()) {
      spdlog::warn("closing a new connection from {}: {}", connection->peer_ip,
                   ToStd(channel.status().message()));
      ::close(fd);
      --door_.open_connections_;
      return;
    }
    connection->tls = *std::move(channel);
  }
  // Edge-triggered: a read that returns less than asked has emptied the socket; a write that
  // could not finish waits for EPOLLOUT.
  if (!Watch(fd, connection->id, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
    spdlog::warn("cannot watch a new connection from {}: {}; closing it", connection->peer_ip,
                 std::strerror(errno));
    ::close(fd);
    --door_.open_connections_;
    return;
  }
  Connection& added = *connection;
  connections_.emplace(added.id, std::move(connection));
  ReadFrom(added);  // data may have arrived before the socket was watched
}

void FrontDoor::Loop::ReadMail() {
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
  std::vector<Mail> mail;
  {
    std::lock_guard lock(mailbox_mu_);
    mail.swap(mailbox_);
  }
  for (Mail& one : mail) HandleMail(one);
}

void FrontDoor::Loop::HandleMail(Mail& mail) {
  if (mail.adopt_fd >= 0)
    return AddConnection(mail.adopt_fd, std::move(mail.peer_ip), mail.peer_port);
  auto it = connections_.find(mail.connection);
  if (it == connections_.end()) return;
  if (mail.partial) return StreamPiece(*it->second, std::move(mail.response));
  Answer(*it->second, std::move(mail.response), mail.close);
}

void FrontDoor::Loop::StreamPiece(Connection& connection, std::string bytes) {
  if (connection.fd < 0 || !connection.stream_gone || *connection.stream_gone) {
    return Close(connection);
  }
  connection.out += bytes;
  if (BackedUp(connection)) {
    spdlog::info("closed a streamed response: the client at {} reads too slowly",
                 connection.peer_ip);
    return Close(connection);
  }
  Write(connection);
}

bool HttpStream::Send(std::string bytes) {
  if (gone_->load() || ended_.load()) return false;
  post_(std::move(bytes), /*end=*/false);
  return true;
}

void HttpStream::End() {
  if (ended_.exchange(true)) return;
  post_("", /*end=*/true);
}

void FrontDoor::Loop::OnEvent(Connection& connection, uint32_t events) {
  if (events & (EPOLLERR | EPOLLHUP)) return Close(connection);
  const uint64_t id = connection.id;
  if (events & EPOLLOUT) {
    Write(connection);
    if (!connections_.contains(id)) return;  // closed
    // The client read its answers: what it pipelined meanwhile can go on.
    if ((connection.read_paused || !connection.in.empty()) && !connection.busy &&
        !connection.closing && !BackedUp(connection)) {
      connection.read_paused = false;
      ParseRequests(connection);
      if (!connections_.contains(id)) return;
      if (!connection.busy) ReadFrom(connection);
      return;
    }
  }
  if (events & (EPOLLIN | EPOLLRDHUP)) ReadFrom(connection, (events & EPOLLRDHUP) != 0);
}

void FrontDoor::Loop::ReadFrom(Connection& connection, bool peer_done) {
  if (connection.fd < 0) return;
  bool peer_closed = false;
  const uint64_t id = connection.id;
  connection.last_active = std::chrono::steady_clock::now();
  while (true) {
    if ((connection.busy && connection.in.size() > kMaxPipelinedBytes) || BackedUp(connection) ||
        connection.closing) {
      connection.read_paused = true;  // read again once answered (or not at all: closing)
      break;
    }
    const ssize_t n = ReadSome(connection);
    if (n == kEnded) return;
    if (n > 0) {
      // Per read, not once per call: a fast sender can keep one call reading for longer than
      // the idle timeout, and the sweep after it must not take that for silence.
      connection.last_active = std::chrono::steady_clock::now();
      ParseRequests(connection);
      if (!connections_.contains(id)) return;                        // refused and closed
      if (static_cast<size_t>(n) < kReadChunk && !peer_done) break;  // emptied the socket
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    peer_closed = true;  // end of stream or a reset
    break;
  }
  if (connection.in.empty() && connection.in.capacity() > kKeepInputBytes)
    connection.in = std::string();  // an idle connection keeps no large buffer
  if (!peer_closed) return;
  // The client sent all it will: answer what it asked (it may only have shut down its sending
  // side), then close.
  if (connection.busy || !connection.out.empty() || connection.wire_sent < connection.wire.size()) {
    connection.closing = true;
  } else {
    Close(connection);
  }
}

ssize_t FrontDoor::Loop::ReadSome(Connection& connection) {
  ssize_t n = 0;
  // Plain text goes straight into the unparsed bytes (no zero-filling, no staging copy); they are
  // parsed chunk by chunk, so they stay small. TLS bytes go through the loop's cipher buffer.
  std::string& into = connection.tls ? cipher_ : connection.in;
  const size_t before = connection.tls ? 0 : into.size();
  into.resize_and_overwrite(before + kReadChunk, [&](char* data, size_t) {
    n = ::read(connection.fd, data + before, kReadChunk);
    return before + static_cast<size_t>(std::max<ssize_t>(n, 0));
  });
  if (n <= 0 || !connection.tls) return n;
  return DecryptInto(connection, cipher_);
}

ssize_t FrontDoor::Loop::DecryptInto(Connection& connection, std::string_view cipher) {
  tls::TlsCounters* counters = door_.options_.tls_counters;
  if (!connection.received_any) {
    connection.received_any = true;
    if (tls::LooksLikePlainHttp(cipher.substr(0, 8))) {
      if (counters) ++counters->plaintext_refused;
      connection.tls.reset();  // answered in plain text, which this client reads
      Answer(connection, Refusal(400, "this port speaks HTTPS (TLS): use https:// to reach it"),
             /*close=*/true);
      return kEnded;
    }
  }
  const bool was_handshaking = !connection.tls->handshake_done();
  const uint64_t id = connection.id;
  const absl::Status received = connection.tls->Receive(cipher, connection.in);
  if (was_handshaking && connection.tls->handshake_done() && counters) ++counters->handshakes;
  if (!received.ok()) {
    if (was_handshaking && counters) ++counters->handshake_failures;
    spdlog::debug("https connection from {}: {}", connection.peer_ip, ToStd(received.message()));
    connection.closing = true;  // the alert OpenSSL queued goes out, then the socket closes
    Write(connection);
    if (connections_.contains(id)) Close(connection);
    return kEnded;
  }
  Write(connection);  // handshake messages, tickets
  if (!connections_.contains(id)) return kEnded;
  return static_cast<ssize_t>(cipher.size());
}

void FrontDoor::Loop::ParseRequests(Connection& connection) {
  while (!connection.busy && !connection.closing && !BackedUp(connection) &&
         !connection.in.empty()) {
    connection.in.erase(0, connection.parser.Parse(connection.in));
    if (const std::optional<HttpRefusal>& refusal = connection.parser.refusal())
      return Answer(connection, Refusal(refusal->status, refusal->message), /*close=*/true);
    if (!connection.parser.has_request()) return;  // the rest has not arrived yet
    Dispatch(connection);
  }
}

void FrontDoor::Loop::Dispatch(Connection& connection) {
  HttpRequestParser::Framed framed = connection.parser.TakeRequest();
  connection.in_request = false;
  connection.busy = true;
  std::shared_ptr<httplib::Request> request = std::move(framed.request);
  const bool keep_alive = framed.keep_alive && !stopping_;
  for (const FastRoute& route : door_.fast_routes_) {
    if (!route.matches(*request)) continue;
    if (route.stream) {
      connection.stream_gone = std::make_shared<std::atomic<bool>>(false);
      auto stream = std::make_shared<HttpStream>(
          [this, id = connection.id](std::string bytes, bool end) {
            Mail mail = Mail::Answer(id, std::move(bytes), /*close=*/end);
            mail.partial = !end;
            Send(std::move(mail));
          },
          connection.stream_gone);
      const absl::Status handled = RunGuarded(fmt::format("{} {}", request->method, request->path),
                                              [&] { route.stream(*request, stream); });
      if (!handled.ok()) stream->End();
      return;
    }
    // One answer per request, even if the handler throws after answering (or after handing the
    // reply on): the first of its answer and the 500 below wins.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto reply = [this, id = connection.id, request, keep_alive,
                  answered](httplib::Response&& response) {
      if (answered->exchange(true)) return;
      if (response.status >= 400)
        spdlog::info("{} {} -> {}", request->method, request->path, response.status);
      Send(Mail::Answer(id, Serialize(response, keep_alive), !keep_alive));
    };
    absl::Status handled = RunGuarded(fmt::format("{} {}", request->method, request->path),
                                      [&] { route.handle(*request, reply); });
    if (!handled.ok() && !answered->exchange(true)) {
      httplib::Response failed;
      failed.status = 500;
      failed.set_content(std::string(ToStd(handled.message())), "text/plain");
      Send(Mail::Answer(connection.id, Serialize(failed, false), /*close=*/true));
    }
    return;
  }
  // cpp-httplib reads the request again, as sent but with its body already de-chunked.
  std::string raw = fmt::format("{} {} {}\r\n", request->method, request->target, request->version);
  for (const auto& [name, value] : request->headers) {
    if (strcasecmp(name.c_str(), "Content-Length") == 0 ||
        strcasecmp(name.c_str(), "Transfer-Encoding") == 0 ||
        strcasecmp(name.c_str(), "Expect") == 0) {
      continue;  // the front door answered "100 Continue" already
    }
    const bool encodings = strcasecmp(name.c_str(), "Accept-Encoding") == 0;
    raw.append(name).append(": ").append(encodings ? WithoutBrotli(value) : value).append("\r\n");
  }
  raw += fmt::format("Content-Length: {}\r\n\r\n", request->body.size());
  raw += request->body;
  door_.workers_->enqueue([this, id = connection.id, raw = std::move(raw), ip = connection.peer_ip,
                           port = connection.peer_port, keep_alive] {
    RoutedServer::Answer answer;
    absl::Status routed = RunGuarded(
        "an HTTP request", [&] { answer = door_.routes_.Route(raw, ip, port, !keep_alive); });
    if (!routed.ok()) {
      httplib::Response failed;
      failed.status = 500;
      failed.set_content(std::string(ToStd(routed.message())), "text/plain");
      answer = RoutedServer::Answer{Serialize(failed, false), true};
    }
    Send(Mail::Answer(id, std::move(answer.response), answer.close));
  });
}

std::optional<HttpRefusal> FrontDoor::Loop::Charge(Connection& connection, size_t bytes) {
  std::atomic<size_t>& buffered = door_.buffered_body_bytes_;
  const size_t limit = door_.options_.max_buffered_body_bytes;
  if (buffered.fetch_add(bytes) + bytes > limit) {
    buffered -= bytes;
    return HttpRefusal{
        503, fmt::format("the server holds its limit of {} MiB of request bodies; retry shortly",
                         limit >> 20)};
  }
  connection.charged += bytes;
  return std::nullopt;
}

void FrontDoor::Loop::Uncharge(Connection& connection) {
  door_.buffered_body_bytes_ -= connection.charged;
  connection.charged = 0;
}

void FrontDoor::Loop::Answer(Connection& connection, std::string response, bool close) {
  Uncharge(connection);  // the request is answered: its body is gone or going
  connection.in_request = false;
  connection.busy = false;
  connection.closing = connection.closing || close;
  if (connection.fd < 0) return Close(connection);  // the client left while it was answered
  if (connection.out.empty()) {
    connection.out = std::move(response);
  } else {
    connection.out += response;
  }
  const uint64_t id = connection.id;
  Write(connection);
  if (!connections_.contains(id)) return;
  ParseRequests(connection);  // pipelined requests
  if (connections_.contains(id) && connection.read_paused && !connection.busy &&
      !connection.closing && !BackedUp(connection)) {
    connection.read_paused = false;
    ReadFrom(connection);
  }
}

void FrontDoor::Loop::Write(Connection& connection) {
  if (connection.fd < 0) return Close(connection);
  if (connection.tls) return WriteEncrypted(connection);
  const size_t sent_before = connection.sent;
  const Sent result = SendPending(connection.fd, connection.out, connection.sent);
  if (connection.sent != sent_before) connection.last_active = std::chrono::steady_clock::now();
  if (result == Sent::kBlocked) return;  // EPOLLOUT resumes
  if (result == Sent::kFailed) return Close(connection);
  connection.out.clear();
  connection.sent = 0;
  if (connection.closing && !connection.busy) Close(connection);
}

void FrontDoor::Loop::WriteEncrypted(Connection& connection) {
  // `out` is encrypted a chunk at a time, each once the socket took the one before: memory stays
  // near the plain-text answer's own, and `sent` counts what was encrypted.
  while (true) {
    if (connection.wire_sent == connection.wire.size()) {
      connection.wire.clear();
      connection.wire_sent = 0;
      if (connection.sent < connection.out.size()) {
        const size_t chunk = std::min(kSealChunk, connection.out.size() - connection.sent);
        if (!connection.tls->Send(std::string_view(connection.out).substr(connection.sent, chunk))
                 .ok()) {
          return Close(connection);  // (busy: the answer still to come closes it)
        }
        connection.sent += chunk;
      } else {
        connection.out.clear();
        connection.sent = 0;
        if (connection.closing && !connection.busy) connection.tls->Close();  // close_notify last
      }
      connection.tls->TakeOutgoing(connection.wire);  // also handshake messages and tickets
      if (connection.wire.empty()) break;
    }
    const size_t sent_before = connection.wire_sent;
    const Sent result = SendPending(connection.fd, connection.wire, connection.wire_sent);
    if (connection.wire_sent != sent_before)
      connection.last_active = std::chrono::steady_clock::now();
    if (result == Sent::kBlocked) return;  // EPOLLOUT resumes
    if (result == Sent::kFailed) return Close(connection);
  }
  if (connection.closing && !connection.busy) Close(connection);
}

void FrontDoor::Loop::Close(Connection& connection) {
  if (connection.stream_gone) {
    // A streamed answer has no end to wait for: the stream learns its client is gone.
    *connection.stream_gone = true;
    connection.stream_gone.reset();
    connection.busy = false;
  }
  if (connection.busy) {
    // Its answer is still to come (a worker or a log holds the request): forget the socket now,
    // the connection when the answer arrives.
    if (connection.fd >= 0) ::close(connection.fd);
    connection.fd = -1;
    return;
  }
  if (connection.fd >= 0) ::close(connection.fd);
  Uncharge(connection);
  --door_.open_connections_;
  connections_.erase(connection.id);
}

void FrontDoor::Loop::SweepIdle() {
  const auto now = std::chrono::steady_clock::now();
  const auto cutoff = now - door_.options_.idle_timeout;
  const auto request_cutoff = now - door_.options_.request_timeout;
  const auto handshake_cutoff = now - door_.options_.handshake_timeout;
  std::vector<Connection*> idle, slow;
  for (auto& [id, connection] : connections_) {
    if (connection->busy) continue;
    if (connection->tls && !connection->tls->handshake_done() &&
        connection->accepted < handshake_cutoff) {
      if (door_.options_.tls_counters) ++door_.options_.tls_counters->handshake_timeouts;
      idle.push_back(connection.get());
      continue;
    }
    // A request still arriving after its deadline (a trickled body or headers): every byte moves
    // last_active, so only the request's own clock can end it.
    if (connection->in_request && connection->request_started < request_cutoff) {
      slow.push_back(connection.get());
    } else if (connection->last_active < cutoff) {
      // Idle, or not reading its answer: neither reads nor writes moved for the whole timeout.
      idle.push_back(connection.get());
    }
  }
  for (Connection* connection : idle) Close(*connection);
  for (Connection* connection : slow) {
    connection->in_request = false;
    Answer(*connection,
           Refusal(408, fmt::format("the request did not arrive whole within {} ms; send it "
                                    "faster or in smaller parts",
                                    door_.options_.request_timeout.count())),
           /*close=*/true);
  }
}

void FrontDoor::Loop::Connection::OnRequestBegin() {
  in_request = true;
  request_started = std::chrono::steady_clock::now();
}

std::optional<HttpRefusal> FrontDoor::Loop::Connection::OnHeadersComplete(
    const httplib::Request& request, bool has_body) {
  const FrontDoorOptions& options = loop->door_.options_;
  if (has_body && options.admit_body) {
    absl::Status admitted = options.admit_body(request);
    if (!admitted.ok()) {
      return HttpRefusal{HttpStatusFor(admitted.code()), std::string(ToStd(admitted.message()))};
    }
  }
  // The client waits for this before it sends the body. Not Write: it may close the connection,
  // and the parser still runs on it. A failure shows on the next write.
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  if (IsExpectContinue(request) && tls && out.empty()) {
    // Encrypted after what is still unsent of the answers before (all of it encrypted already:
    // `out` is empty), so in order; what the socket does not take now goes with the next write.
    if (tls->Send(kContinue).ok()) {
      tls->TakeOutgoing(wire);
      SendPending(fd, wire, wire_sent);
    }
  } else if (IsExpectContinue(request) && out.empty()) {
    [[maybe_unused]] ssize_t n = ::send(fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
  }
  return std::nullopt;
}

std::optional<HttpRefusal> FrontDoor::Loop::Connection::OnBodyBytes(size_t bytes) {
  // Charged as it arrives: a body that is announced but never sent holds no budget.
  return loop->Charge(*this, bytes);
}

FrontDoor::FrontDoor(const FrontDoorOptions& options, std::vector<FastRoute> fast_routes,
                     RoutedServer& routes)
    : options_(options), fast_routes_(std::move(fast_routes)), routes_(routes) {}

absl::StatusOr<std::unique_ptr<FrontDoor>> FrontDoor::Listen(const FrontDoorOptions& options,
                                                             std::vector<FastRoute> fast_routes,
                                                             RoutedServer& routes) {
  std::unique_ptr<FrontDoor> door(new FrontDoor(options, std::move(fast_routes), routes));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.port);
  if (int error = ::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found); error != 0) {
    return absl::InvalidArgumentError(
        fmt::format("cannot listen on {}:{}: {}", options.host, options.port, gai_strerror(error)));
  }
  std::string failure = "no address";
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    const int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            address->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, address->ai_addr, address->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) {
      door->listen_fd_ = fd;
      break;
    }
    failure = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (door->listen_fd_ < 0) {
    return absl::UnavailableError(fmt::format("cannot listen on {}:{}: {} (is the port in use?)",
                                              options.host, options.port, failure));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(door->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  door->port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const int loops = options.loop_threads > 0
                        ? options.loop_threads
                        : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
  for (int i = 0; i < loops; ++i) {
    door->loops_.push_back(std::make_unique<Loop>(*door, i));
    if (!door->loops_.back()->ok()) {
      return absl::InternalError(
          fmt::format("cannot create an event loop: {}", std::strerror(errno)));
    }
  }
  if (!door->loops_.front()->WatchListener(door->listen_fd_)) {
    return absl::InternalError(
        fmt::format("cannot watch the listening socket: {}", std::strerror(errno)));
  }
  door->workers_ = std::make_unique<httplib::ThreadPool>(
      static_cast<size_t>(std::max(1, options.worker_threads)));
  return door;
}

FrontDoor::~FrontDoor() {
  Stop();
  if (workers_) workers_->shutdown();
  loops_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void FrontDoor::Run() {
  std::vector<std::thread> threads;
  for (size_t i = 1; i < loops_.size(); ++i) threads.emplace_back([this, i] { loops_[i]->Run(); });
  loops_.front()->Run();
  for (std::thread& thread : threads) thread.join();
}

void FrontDoor::Stop() {
  for (auto& loop : loops_) loop->Stop();
}

}  // namespace loch
