#include "server/front_door.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/test_dir.h"
#include "tls/self_signed.h"

namespace loch {
namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::StartsWith;

// A raw HTTP client: sends bytes as given and reads what comes back, so tests control framing.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { ::close(fd_); }

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  const std::string& received() const { return received_; }
  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  void ShutdownSending() { ::shutdown(fd_, SHUT_WR); }

  // Reads until `text` has arrived `count` times, the peer closes, or `timeout` passes. Each byte
  // is searched once (tens of MiB arrive in some tests: rescanning all of it per read was
  // quadratic, and too slow under sanitizers).
  std::string ReadUntil(std::string_view text, int count = 1,
                        std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int found = 0;
    size_t next = 0;  // where the search for the next occurrence resumes
    auto count_new = [&] {
      for (size_t at = received_.find(text, next); at != std::string::npos;
           at = received_.find(text, next)) {
        ++found;
        next = at + text.size();
      }
      // An occurrence still arriving can only start in the last text.size() - 1 bytes.
      if (received_.size() >= text.size())
        next = std::max(next, received_.size() - text.size() + 1);
    };
    count_new();
    while (found < count && !closed_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      pollfd poll_fd{fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[65536];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received_.append(buffer, static_cast<size_t>(n));
      count_new();
    }
    return received_;
  }
  // Whether the server closed the connection (waits up to `timeout` for it).
  bool Closed(std::chrono::milliseconds timeout = 5s) {
    ReadUntil("\x01never\x01", 1, timeout);
    return closed_;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

std::string Post(std::string_view path, std::string_view body, std::string_view extra = "") {
  return std::string("POST ") + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" +
         std::string(extra) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

class FrontDoorTest : public testing::Test {
 protected:
  void SetUp() override {
    routes_.Get("/routed", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content("routed " + request.get_param_value("name"), "text/plain");
    });
    routes_.Post("/echo", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content("echo " + request.body, "text/plain");
    });
    routes_.Get("/slow", [](const httplib::Request&, httplib::Response& response) {
      std::this_thread::sleep_for(300ms);
      response.set_content("slow", "text/plain");
    });
  }

  void TearDown() override {
    if (door_) door_->Stop();
    if (runner_.joinable()) runner_.join();
    door_.reset();
    for (std::thread& thread : repliers_) thread.join();
  }

  // Starts a front door whose fast route /fast answers "fast <body>" from another thread after
  // `reply_delay` (as a put does once its fsync is done).
  void Start(FrontDoorOptions options = {}, std::chrono::milliseconds reply_delay = 0ms) {
    options.port = 0;
    FastRoute fast{[](const httplib::Request& request) { return request.path == "/fast"; },
                   [this, reply_delay](const httplib::Request& request, HttpReply reply) {
                     ++fast_started_;
                     std::lock_guard lock(repliers_mu_);
                     repliers_.emplace_back([&request, reply = std::move(reply), reply_delay] {
                       std::this_thread::sleep_for(reply_delay);
                       httplib::Response response;
                       response.set_content("fast " + request.body, "text/plain");
                       reply(std::move(response));
                     });
                   }};
    // Holds its loop thread (fast handlers must not; this one stands for a busy loop).
    FastRoute busy{[](const httplib::Request& request) { return request.path == "/busy-loop"; },
                   [](const httplib::Request&, HttpReply reply) {
                     std::this_thread::sleep_for(300ms);
                     reply(httplib::Response());
                   }};
    auto door = FrontDoor::Listen(options, {fast, busy}, routes_);
    ASSERT_TRUE(door.ok()) << door.status();
    door_ = std::move(*door);
    runner_ = std::thread([this] { door_->Run(); });
  }

  int port() const { return door_->port(); }

  RoutedServer routes_;
  std::unique_ptr<FrontDoor> door_;
  std::thread runner_;
  std::atomic<int> fast_started_{0};
  std::mutex repliers_mu_;
  std::vector<std::thread> repliers_;
};

TEST_F(FrontDoorTest, RoutedAndFastRequestsShareAKeepAliveConnection) {
  Start();
  httplib::Client client("127.0.0.1", port());
  client.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto routed = client.Get("/routed?name=a%20b");
    ASSERT_TRUE(routed) << httplib::to_string(routed.error());
    EXPECT_EQ(routed->status, 200);
    EXPECT_EQ(routed->body, "routed a b");
    auto fast = client.Post("/fast", "payload", "text/plain");
    ASSERT_TRUE(fast);
    EXPECT_EQ(fast->body, "fast payload");
    auto echoed = client.Post("/echo", std::string(200000, 'x'), "text/plain");
    ASSERT_TRUE(echoed);
    EXPECT_EQ(echoed->body.size(), 5 + 200000u);
  }
  auto missing = client.Get("/nowhere");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(FrontDoorTest, PipelinedRequestsAreAnsweredInOrder) {
  Start({}, /*reply_delay=*/100ms);
  RawConnection connection(port());
  ASSERT_TRUE(connection.connected());
  // The slow fast request comes first: the routed ones must wait for it.
  connection.Send(Post("/fast", "one") + "GET /routed?name=two HTTP/1.1\r\nHost: t\r\n\r\n" +
                  Post("/echo", "three"));
  const std::string answers = connection.ReadUntil("HTTP/1.1 200", 3);
  const size_t one = answers.find("fast one"), two = answers.find("routed two"),
               three = answers.find("echo three");
  ASSERT_NE(one, std::string::npos) << answers;
  ASSERT_NE(two, std::string::npos) << answers;
  ASSERT_NE(three, std::string::npos) << answers;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
}

TEST_F(FrontDoorTest, AWaitingRequestHoldsUpNoOtherConnection) {
  Start({}, /*reply_delay=*/10s);
  RawConnection waiting(port());
  waiting.Send(Post("/fast", "later"));
  httplib::Client client("127.0.0.1", port());
  for (int i = 0; i < 20; ++i) {
    auto answer = client.Post("/echo", "now", "text/plain");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->body, "echo now");
  }
  // Every other request was answered while this one still waits (order, not timing: a slow
  // machine cannot make this pass or fail by chance).
  EXPECT_EQ(waiting.ReadUntil("fast later", 1, 50ms), "");
  EXPECT_THAT(waiting.ReadUntil("fast later", 1, 30s), HasSubstr("fast later"));
}

TEST_F(FrontDoorTest, ChunkedBodiesArriveWhole) {
  Start();
  const std::string chunked =
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  for (const char* path : {"/fast", "/echo"}) {
    RawConnection connection(port());
    connection.Send(std::string("POST ") + path + " HTTP/1.1\r\nHost: t\r\n" + chunked);
    EXPECT_THAT(connection.ReadUntil("hello world"), HasSubstr(" hello world")) << path;
  }
}

TEST_F(FrontDoorTest, ExpectContinueGetsAnInterimAnswerBeforeTheBody) {
  Start();
  for (const char* path : {"/fast", "/echo"}) {
    RawConnection connection(port());
    connection.Send(std::string("POST ") + path +
                    " HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    EXPECT_THAT(connection.ReadUntil("100 Continue"), StartsWith("HTTP/1.1 100 Continue\r\n\r\n"));
    connection.Send("body");
    const std::string answer = connection.ReadUntil(" body");
    EXPECT_THAT(answer, HasSubstr("HTTP/1.1 200")) << path;
    // One interim answer only (cpp-httplib would add its own for a routed request).
    EXPECT_EQ(answer.find("100 Continue", 20), std::string::npos) << answer;
  }
}

TEST_F(FrontDoorTest, MalformedRequestsGet400AndTheServerKeepsServing) {
  Start();
  for (const std::string& bad :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("POST /echo HTTP/1.1\r\nContent-Length: -4\r\n\r\n"),
        std::string("POST /fast HTTP/1.1\r\nTransfer-Encoding: chunked"
                    "\r\n\r\nZZ\r\n"),
        std::string("GET /") + std::string(100000, 'a') + " HTTP/1.1\r\n"}) {
    RawConnection connection(port());
    connection.Send(bad);
    const std::string answer = connection.ReadUntil("\r\n\r\n");
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 400")) << bad.substr(0, 60);
    EXPECT_THAT(answer, HasSubstr("malformed HTTP request: "));
    EXPECT_TRUE(connection.Closed());
  }
  EXPECT_EQ(fast_started_.load(), 0);
  httplib::Client client("127.0.0.1", port());
  auto fine = client.Get("/routed?name=still");
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->body, "routed still");
}

TEST_F(FrontDoorTest, OversizedBodiesGet413WithoutBeingRead) {
  FrontDoorOptions options;
  options.max_body_bytes = 1000;
  Start(options);
  {
    RawConnection connection(port());
    connection.Send("POST /fast HTTP/1.1\r\nHost: t\r\nContent-Length: 5000000\r\n\r\n");
    const std::string answer = connection.ReadUntil("\r\n\r\n");
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 413"));
    EXPECT_THAT(connection.ReadUntil("limit is 1000"),
                HasSubstr("5000000 bytes; the limit is 1000"));
    EXPECT_TRUE(connection.Closed());
  }
  {
    RawConnection connection(port());  // chunked: no length up front
    connection.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; ++i) connection.Send("200\r\n" + std::string(512, 'x') + "\r\n");
    EXPECT_THAT(connection.ReadUntil("\r\n\r\n"), StartsWith("HTTP/1.1 413"));
    EXPECT_TRUE(connection.Closed());
  }
  EXPECT_EQ(fast_started_.load(), 0);
}

TEST_F(FrontDoorTest, BodiesInProgressAreBoundedTogether) {
  FrontDoorOptions options;
  options.max_buffered_body_bytes = 10000;
  Start(options, /*reply_delay=*/300ms);
  RawConnection first(port());
  first.Send(Post("/fast", std::string(8000, 'a')));  // held until answered
  while (fast_started_.load() == 0) std::this_thread::sleep_for(1ms);
  RawConnection second(port());
  second.Send(Post("/fast", std::string(4000, 'b')));
  const std::string refused = second.ReadUntil("retry shortly");
  EXPECT_THAT(refused, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(refused, HasSubstr("Retry-After: 1"));
  EXPECT_THAT(first.ReadUntil("HTTP/1.1 200"), HasSubstr("fast aaa"));
  RawConnection third(port());  // the first body is released once answered
  third.Send(Post("/fast", std::string(4000, 'c')));
  EXPECT_THAT(third.ReadUntil("fast ccc"), HasSubstr("HTTP/1.1 200"));
}

TEST_F(FrontDoorTest, BodiesAreAdmittedBeforeAByteOfThemIsRead) {
  FrontDoorOptions options;
  std::atomic<int> asked{0};
  options.admit_body = [&asked](const httplib::Request& request) {
    ++asked;
    if (request.get_header_value("X-Key") == "right") return absl::OkStatus();
    if (request.has_header("X-Key")) return absl::PermissionDeniedError("wrong key");
    return absl::UnauthenticatedError("no key");
  };
  Start(options);
  // Headers only: the 64 MiB body is never sent, yet the answer comes at once.
  RawConnection anonymous(port());
  anonymous.Send("POST /fast HTTP/1.1\r\nHost: t\r\nContent-Length: 60000000\r\n\r\n");
  EXPECT_THAT(anonymous.ReadUntil("no key"), StartsWith("HTTP/1.1 401"));
  EXPECT_TRUE(anonymous.Closed());
  RawConnection wrong(port());
  wrong.Send("POST /echo HTTP/1.1\r\nHost: t\r\nX-Key: no\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_THAT(wrong.ReadUntil("wrong key"), StartsWith("HTTP/1.1 403"));
  RawConnection right(port());
  right.Send(Post("/fast", "hello", "X-Key: right\r\n"));
  EXPECT_THAT(right.ReadUntil("fast hello"), StartsWith("HTTP/1.1 200"));
  const int before = asked.load();
  RawConnection get(port());  // no body: nothing to admit, the route decides
  get.Send("GET /routed?name=x HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(get.ReadUntil("routed x"), StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(asked.load(), before);
}

TEST_F(FrontDoorTest, AnAnnouncedBodyHoldsNoBudgetUntilItArrives) {
  FrontDoorOptions options;
  options.max_buffered_body_bytes = 10000;
  Start(options);
  RawConnection announcer(port());  // announces 9,000 bytes and sends 10 of them
  announcer.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 9000\r\n\r\n0123456789");
  std::this_thread::sleep_for(100ms);
  RawConnection sender(port());
  sender.Send(Post("/fast", std::string(5000, 'b')));
  EXPECT_THAT(sender.ReadUntil("fast bbb"), StartsWith("HTTP/1.1 200"));
}

TEST_F(FrontDoorTest, RequestsThatTrickleInAreCutAtTheirDeadline) {
  FrontDoorOptions options;
  options.request_timeout = 1500ms;
  Start(options);
  RawConnection body(port());  // a body one byte at a time: every byte is "activity"
  body.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n");
  RawConnection headers(port());  // headers that never end
  headers.Send("GET /routed HTTP/1.1\r\nHost: t\r\n");
  const auto start = std::chrono::steady_clock::now();
  bool cut = false;
  while (!cut && std::chrono::steady_clock::now() - start < 8s) {
    body.Send("x");
    headers.Send("X-A: b\r\n");
    cut = body.ReadUntil("HTTP/1.1 408", 1, 200ms).find("HTTP/1.1 408") != std::string::npos;
  }
  EXPECT_TRUE(cut) << body.received();
  EXPECT_THAT(headers.ReadUntil("HTTP/1.1 408"), StartsWith("HTTP/1.1 408"));
  EXPECT_TRUE(body.Closed());
  RawConnection after(port());  // and the door keeps serving
  after.Send(Post("/fast", "ok"));
  EXPECT_THAT(after.ReadUntil("fast ok"), StartsWith("HTTP/1.1 200"));
}

TEST_F(FrontDoorTest, AThrowingRouteIsAnswered500AndTheDoorKeepsServing) {
  routes_.Get("/throws", [](const httplib::Request&, httplib::Response&) {
    throw std::runtime_error("boom");
  });
  Start();
  RawConnection first(port());
  first.Send("GET /throws HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(first.ReadUntil("\r\n\r\n"), StartsWith("HTTP/1.1 500"));
  RawConnection second(port());
  second.Send(Post("/fast", "still here"));
  EXPECT_THAT(second.ReadUntil("fast still here"), StartsWith("HTTP/1.1 200"));
}

TEST_F(FrontDoorTest, AClientThatPipelinesWithoutReadingHoldsBoundedAnswers) {
  std::atomic<int> answered{0};
  routes_.Post("/big", [&answered](const httplib::Request&, httplib::Response& response) {
    ++answered;
    response.set_content(std::string(256 << 10, 'z'), "text/plain");
  });
  Start();
  RawConnection greedy(port());
  std::thread sender([&] {  // 200 requests whose answers are 256 KiB each: 50 MiB unread
    for (int i = 0; i < 200; ++i) greedy.Send(Post("/big", "x"));
  });
  std::this_thread::sleep_for(1500ms);
  // The socket's buffers and 1 MiB of unsent answers hold a few dozen answers, not 200.
  const int before_reading = answered.load();
  EXPECT_LT(before_reading, 120) << "answers pile up for a client that does not read them";
  // Once it reads, everything is answered.
  std::string all = greedy.ReadUntil("HTTP/1.1 200", 200, 120s);
  sender.join();
  EXPECT_EQ(answered.load(), 200);
  RawConnection other(port());
  other.Send(Post("/fast", "ok"));
  EXPECT_THAT(other.ReadUntil("fast ok"), StartsWith("HTTP/1.1 200"));
}

TEST_F(FrontDoorTest, AClientThatLeavesBeforeItsAnswerCostsNothing) {
  Start({}, /*reply_delay=*/200ms);
  {
    RawConnection gone(port());
    gone.Send(Post("/fast", "orphan"));
    while (fast_started_.load() == 0) std::this_thread::sleep_for(1ms);
  }                                    // closed while its answer is awaited
  std::this_thread::sleep_for(300ms);  // the answer arrives for a closed connection
  httplib::Client client("127.0.0.1", port());
  auto answer = client.Post("/fast", "next", "text/plain");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->body, "fast next");
}

TEST_F(FrontDoorTest, AHalfClosedClientStillGetsItsAnswer) {
  Start({}, /*reply_delay=*/100ms);
  RawConnection connection(port());
  connection.Send(Post("/fast", "half"));
  connection.ShutdownSending();
  EXPECT_THAT(connection.ReadUntil("fast half"), HasSubstr("fast half"));
  EXPECT_TRUE(connection.Closed());
}

TEST_F(FrontDoorTest, AClientThatHangsUpMidRequestIsClosedAtOnce) {
  FrontDoorOptions options;
  options.loop_threads = 1;
  Start(options);  // idle connections are closed after two minutes, not what this waits for
  for (const std::string& partial :
       {Post("/fast", "{\"cut\": 1}").substr(0, 60), std::string("GET /routed HTT")}) {
    RawConnection connection(port());
    std::this_thread::sleep_for(50ms);  // accepted, and nothing to read yet
    RawConnection busy(port());
    busy.Send("GET /busy-loop HTTP/1.1\r\n\r\n");
    std::this_thread::sleep_for(50ms);  // the loop is held
    connection.Send(partial);
    connection.ShutdownSending();  // the producer died mid-request: its bytes and the end of its
                                   // stream wait together for the loop
    EXPECT_TRUE(connection.Closed(10s)) << partial;
  }
  EXPECT_EQ(fast_started_.load(), 0);
}

TEST_F(FrontDoorTest, ManyConnectionsAtOnce) {
  Start({}, /*reply_delay=*/20ms);
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < 300; ++i) {
    connections.push_back(std::make_unique<RawConnection>(port()));
    ASSERT_TRUE(connections.back()->connected());
  }
  for (size_t i = 0; i < connections.size(); ++i) {
    connections[i]->Send(Post(i % 2 ? "/fast" : "/echo", "n" + std::to_string(i)));
  }
  for (size_t i = 0; i < connections.size(); ++i) {
    const std::string expected = (i % 2 ? "fast n" : "echo n") + std::to_string(i);
    EXPECT_THAT(connections[i]->ReadUntil(expected), HasSubstr(expected));
  }
}

TEST_F(FrontDoorTest, ConnectionsOverTheLimitAreClosed) {
  FrontDoorOptions options;
  options.max_connections = 2;
  Start(options);
  RawConnection first(port()), second(port());
  first.Send(Post("/echo", "1"));
  second.Send(Post("/echo", "2"));
  EXPECT_THAT(first.ReadUntil("echo 1"), HasSubstr("echo 1"));
  EXPECT_THAT(second.ReadUntil("echo 2"), HasSubstr("echo 2"));
  RawConnection third(port());
  EXPECT_TRUE(third.Closed());
}

TEST_F(FrontDoorTest, IdleConnectionsAreClosed) {
  FrontDoorOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  Start(options);
  RawConnection idle(port());
  idle.Send("GET /routed HTTP/1.1\r\n");  // and never the rest
  EXPECT_TRUE(idle.Closed(4s));
}

TEST_F(FrontDoorTest, AClientThatDoesNotReadItsAnswerIsClosed) {
  FrontDoorOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  Start(options);
  const size_t size = 32 << 20;  // more than the sockets' buffers hold
  // Built before connecting: under sanitizers on a busy machine, building 32 MiB can take longer
  // than the idle timeout, and a connection silent that long is rightly closed.
  const std::string request = Post("/echo", std::string(size, 'x'));
  RawConnection stuck(port());
  stuck.Send(request);
  // The answer has begun (on a slow machine it may start late: waiting for it keeps the test about
  // a client that stops reading, not about timing), then the client reads no more.
  EXPECT_THAT(stuck.ReadUntil("HTTP/1.1 200", 1, 60s), StartsWith("HTTP/1.1 200"));
  std::this_thread::sleep_for(3s);  // not reading: the rest of the answer cannot be written
  EXPECT_TRUE(stuck.Closed());
  EXPECT_LT(stuck.received().size(), size);
}

TEST_F(FrontDoorTest, StoppingAnswersTheRequestsInProgressFirst) {
  Start();
  RawConnection connection(port());
  connection.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  std::this_thread::sleep_for(100ms);  // the worker is in the handler
  door_->Stop();
  EXPECT_THAT(connection.ReadUntil("slow"), HasSubstr("HTTP/1.1 200"));
  EXPECT_TRUE(connection.Closed());
  runner_.join();  // Run returned
  EXPECT_FALSE(RawConnection(door_->port()).connected());
}

// HTTPS: the same door with a TLS context, driven by OpenSSL's own client over a blocking socket.
class TlsConnection {
 public:
  TlsConnection(int port, const std::string& ca_path) : raw_(port) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_load_verify_locations(ctx_, ca_path.c_str(), nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set1_host(ssl_, "localhost");
    SSL_set_fd(ssl_, raw_.fd());
    handshaken_ = raw_.connected() && SSL_connect(ssl_) == 1;
  }
  ~TlsConnection() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  bool handshaken() const { return handshaken_; }
  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      size_t written = 0;
      if (SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written) != 1) return;
      bytes.remove_prefix(written);
    }
  }
  void ShutdownSending() { ::shutdown(raw_.fd(), SHUT_WR); }
  // Reads until `text` arrived (or the end, or `timeout`).
  std::string ReadUntil(std::string_view text, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(text) == std::string::npos && !closed_ &&
           std::chrono::steady_clock::now() < deadline) {
      if (SSL_pending(ssl_) == 0) {
        pollfd poll_fd{raw_.fd(), POLLIN, 0};
        if (::poll(&poll_fd, 1, 100) <= 0) continue;
      }
      char buffer[65536];
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n <= 0) {
        closed_ = SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ;
        continue;
      }
      received_.append(buffer, static_cast<size_t>(n));
    }
    return received_;
  }
  bool closed_cleanly() const { return (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0; }

 private:
  RawConnection raw_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool handshaken_ = false;
  bool closed_ = false;
  std::string received_;
};

class FrontDoorTlsTest : public FrontDoorTest {
 protected:
  void StartTls(FrontDoorOptions options = {}, std::chrono::milliseconds reply_delay = 0ms) {
    auto made = tls::EnsureSelfSigned({.dir = dir_.path() + "/tls"});
    ASSERT_TRUE(made.ok()) << made.status();
    ca_path_ = made->ca_path;
    auto context = tls::TlsServerContext::Load(made->server);
    ASSERT_TRUE(context.ok()) << context.status();
    context_ = *std::move(context);
    options.tls = context_.get();
    options.tls_counters = &counters_;
    Start(options, reply_delay);
  }
  void TearDown() override {
    FrontDoorTest::TearDown();  // the door goes before the context it uses
    context_.reset();
  }

  TestDir dir_{"front-door-tls"};
  std::string ca_path_;
  std::unique_ptr<tls::TlsServerContext> context_;
  tls::TlsCounters counters_;
};

TEST_F(FrontDoorTlsTest, PipelinedRequestsAndLargeAnswersArriveWholeOverHttps) {
  StartTls();
  TlsConnection connection(port(), ca_path_);
  ASSERT_TRUE(connection.handshaken());
  // 3 MiB out and back: answers are encrypted a chunk at a time as the socket drains.
  const std::string big(3 << 20, 'b');
  connection.Send(Post("/echo", big) + Post("/fast", "second") +
                  "GET /routed?name=third HTTP/1.1\r\nHost: t\r\n\r\n");
  const std::string answers = connection.ReadUntil("routed third", 30s);
  const size_t echo = answers.find("echo " + big);
  const size_t fast = answers.find("fast second");
  ASSERT_NE(echo, std::string::npos);
  ASSERT_NE(fast, std::string::npos);
  EXPECT_LT(echo, fast);
  EXPECT_LT(fast, answers.find("routed third"));
  EXPECT_EQ(counters_.handshakes.load(), 1u);
}

TEST_F(FrontDoorTlsTest, ExpectContinueIsEncryptedAndComesBeforeTheBody) {
  StartTls();
  TlsConnection connection(port(), ca_path_);
  ASSERT_TRUE(connection.handshaken());
  connection.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_THAT(connection.ReadUntil("100 Continue"), StartsWith("HTTP/1.1 100 Continue\r\n\r\n"));
  connection.Send("body");
  EXPECT_THAT(connection.ReadUntil("echo body"), HasSubstr("HTTP/1.1 200"));
}

TEST_F(FrontDoorTlsTest, AHalfClosedHttpsClientGetsItsWholeAnswerAndACleanClose) {
  StartTls({}, /*reply_delay=*/100ms);
  TlsConnection connection(port(), ca_path_);
  ASSERT_TRUE(connection.handshaken());
  connection.Send(Post("/fast", std::string(1 << 20, 'h')));
  connection.ShutdownSending();
  const std::string answer = connection.ReadUntil("\x01never\x01", 10s);
  EXPECT_NE(answer.find("fast " + std::string(1 << 20, 'h')), std::string::npos);
  EXPECT_TRUE(connection.closed_cleanly());  // close_notify after the last answer
}

TEST_F(FrontDoorTlsTest, PlainTextAndSilentClientsAreRefusedAndCounted) {
  FrontDoorOptions options;
  options.handshake_timeout = 200ms;
  StartTls(options);
  RawConnection plain(port());
  plain.Send("GET /routed HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(plain.ReadUntil("https://"), HasSubstr("HTTP/1.1 400"));
  EXPECT_TRUE(plain.Closed());
  RawConnection silent(port());  // connects, never says hello
  EXPECT_TRUE(silent.Closed(5s));
  RawConnection garbage(port());
  garbage.Send(std::string("\x16\x03\x01\x00\x05hello", 10));
  EXPECT_TRUE(garbage.Closed());
  EXPECT_EQ(counters_.plaintext_refused.load(), 1u);
  EXPECT_EQ(counters_.handshake_timeouts.load(), 1u);
  EXPECT_EQ(counters_.handshake_failures.load(), 1u);
  // And it keeps serving.
  TlsConnection good(port(), ca_path_);
  ASSERT_TRUE(good.handshaken());
  good.Send("GET /routed?name=ok HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_THAT(good.ReadUntil("routed ok"), HasSubstr("HTTP/1.1 200"));
}

}  // namespace
}  // namespace loch
