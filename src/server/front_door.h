#pragma once
// FrontDoor: loch's HTTP/1.1 listener. A few event-loop threads (epoll) own every connection:
// they read, frame requests (http_request_parser.h) and write responses, so a keep-alive client
// holds no thread while it is idle or while its request waits. A request goes one of two ways:
//  - a fast route (the puts of records) is started on its loop thread and answers through an
//    HttpReply once its records are durable (http_reply.h); the loop then writes the answer.
//    Fast handlers must not block: they parse, check and hand their records to the log.
//  - anything else runs on a worker thread through cpp-httplib's router (RoutedServer): it reads
//    the request's bytes from memory and writes its response there, and the loop sends that.
// A connection has one request in progress at a time; pipelined requests wait their turn. A fast
// route may stream its answer instead (HttpStream): the connection is its until it ends, and at
// Stop such connections are closed (not waited for).
//
// Admission: a request that carries a body is shown to `admit_body` as soon as its headers are
// complete, before one byte of its body is read or counted; a refused one is answered (401, 403,
// 400: its error's status) and its connection closed, so clients without credentials cannot hold
// body memory or budget.
//
// Limits: headers as http-parser allows (80 KiB), bodies up to `max_body_bytes` (413) and
// `max_buffered_body_bytes` for all requests in progress together, counted as their bytes arrive
// (503), a whole request (headers and body) within `request_timeout` of its first byte (408: slow
// or trickled uploads are cut), at most `max_connections` open (more are closed on accept), idle
// connections closed after `idle_timeout`. Malformed requests get 400 naming what was wrong, and
// the connection is closed.
//
// TLS (`tls` set): every connection is HTTPS, decrypted and encrypted on its loop thread through
// memory BIOs (tls/tls_channel.h), so sockets, reads and writes stay as above. A connection must
// finish its handshake within `handshake_timeout`; a client speaking plain HTTP to it gets a
// plain-text 400 saying to use https, then the connection is closed.

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/http_reply.h"
#include "tls/tls_context.h"

namespace loch {

// A cpp-httplib server used only as a router: the front door hands it one request at a time.
class RoutedServer : public httplib::Server {
 public:
  // Its answers' Keep-Alive header tells clients what the front door does: no request limit per
  // connection, idle connections closed after a while.
  RoutedServer();

  struct Answer {
    std::string response;  // the bytes to send
    bool close = false;    // close the connection after them
  };
  // Routes `request` (one whole HTTP request as received) as cpp-httplib would on a socket.
  // `close_after` asks for "Connection: close" (the client did not ask to keep it alive).
  Answer Route(std::string_view request, const std::string& peer_ip, int peer_port,
               bool close_after);
};

// A response sent in pieces as they come (server-sent events): the status line and headers
// first, then whatever the handler sends, until it ends the stream or the client leaves. The
// connection carries nothing else. Thread-safety: Send and End may be called from any thread, until
// the front door that made the stream is destroyed (stop sending before that).
class HttpStream {
 public:
  using Post = std::function<void(std::string bytes, bool end)>;
  HttpStream(Post post, std::shared_ptr<std::atomic<bool>> gone)
      : post_(std::move(post)), gone_(std::move(gone)) {}

  // Queues `bytes` for the client. False (and nothing sent) once the client is gone, the stream
  // ended, or the client reads too slowly (its connection was closed).
  bool Send(std::string bytes);
  // Ends the response: the connection closes after what was sent.
  void End();
  bool gone() const { return gone_->load(); }

 private:
  Post post_;
  std::shared_ptr<std::atomic<bool>> gone_;  // set by the front door when it closes the connection
  std::atomic<bool> ended_{false};
};

struct FastRoute {
  // Whether this route answers `request` (its method, path, query and headers; the body too).
  std::function<bool(const httplib::Request&)> matches;
  AsyncHttpHandler handle;
  // Instead of `handle`: a streamed response. The handler sends the status line and headers as
  // the first piece, keeps the stream and returns at once.
  std::function<void(const httplib::Request&, std::shared_ptr<HttpStream>)> stream;
};

struct FrontDoorOptions {
  std::string host = "127.0.0.1";
  int port = 0;             // 0: any free port (see port())
  int loop_threads = 0;     // 0: one per core, at most 4
  int worker_threads = 64;  // for the routed (slow) requests: queries, catalog, console
  size_t max_body_bytes = 64 << 20;
  // Request bodies held at once, all connections together (memory stays bounded however many
  // clients send at once): over it, requests get 503 with Retry-After.
  size_t max_buffered_body_bytes = 1ull << 30;
  size_t max_connections = 4096;
  std::chrono::seconds idle_timeout{120};
  // From a request's first byte until it is whole; past it the request is answered 408.
  std::chrono::milliseconds request_timeout{60'000};
  // Called on a loop thread with a request's method, target and headers (no body yet) when the
  // request declares a body. Not OK: refused before its body is read, with the error's HTTP
  // status (http_status.h: 401 for Unauthenticated, 403 for PermissionDenied, ...) and message.
  // Unset: every request is admitted. Must be fast and thread-safe.
  std::function<absl::Status(const httplib::Request&)> admit_body;
  // HTTPS with this context's current certificate (null: plain HTTP); counted in `tls_counters`.
  // Both must outlive the door.
  const tls::TlsServerContext* tls = nullptr;
  tls::TlsCounters* tls_counters = nullptr;
  std::chrono::milliseconds handshake_timeout{10'000};
};

class FrontDoor {
 public:
  // Binds and listens. `routes` answers what no fast route matches; it must outlive the door.
  static absl::StatusOr<std::unique_ptr<FrontDoor>> Listen(const FrontDoorOptions& options,
                                                           std::vector<FastRoute> fast_routes,
                                                           RoutedServer& routes);
  // Stops, and waits for every request in progress to be answered.
  ~FrontDoor();

  // Serves until Stop; then answers the requests in progress and closes every connection.
  void Run();
  // Makes Run return. Async-signal-safe; may be called before Run.
  void Stop();

  int port() const { return port_; }

  class Loop;

 private:
  FrontDoor(const FrontDoorOptions& options, std::vector<FastRoute> fast_routes,
            RoutedServer& routes);

  FrontDoorOptions options_;
  std::vector<FastRoute> fast_routes_;
  RoutedServer& routes_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<size_t> open_connections_{0};
  std::atomic<size_t> buffered_body_bytes_{0};
  std::unique_ptr<httplib::ThreadPool> workers_;
};

}  // namespace loch
