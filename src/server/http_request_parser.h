#pragma once
// HttpRequestParser: frames the HTTP/1.1 requests a client sends on one connection (http-parser),
// one at a time, into httplib::Request values: method, version, target, path and query
// parameters (percent-decoded as cpp-httplib does), headers, and the body with any chunked
// transfer-coding removed. It owns no socket: its owner feeds it the bytes it reads and decides,
// through an Observer, what a request may cost before its body is read.
//
// Limits: headers as http-parser allows (80 KiB), a body up to `max_body_bytes` (413; an
// announced Content-Length over it is refused before a byte of the body is read). Malformed input
// is refused with 400 naming http-parser's complaint. After a refusal the parser takes no more
// input: the connection is to be answered and closed.
//
// Thread-compatible: one parser per connection, used by one thread at a time. Not movable (the
// http-parser state points back to it).

#include <http_parser.h>
#include <httplib.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace loch {

// A request refused while it was framed: the HTTP status to answer it with, and why.
struct HttpRefusal {
  int status = 400;
  std::string message;
};

class HttpRequestParser {
 public:
  // What the parser's owner decides, and learns, as a request is framed. Each method runs inside
  // Parse; the defaults admit everything.
  class Observer {
   public:
    virtual ~Observer() = default;
    // The first byte of a request arrived.
    virtual void OnRequestBegin() {}
    // `request`'s line and headers are complete, its body not read yet; `has_body`: it declares
    // one (Content-Length over 0, or chunked). A refusal ends the parse before the body is read.
    virtual std::optional<HttpRefusal> OnHeadersComplete(const httplib::Request& /*request*/,
                                                         bool /*has_body*/) {
      return std::nullopt;
    }
    // `bytes` more bytes of the body arrived, within `max_body_bytes`, and are about to be kept.
    // A refusal ends the parse.
    virtual std::optional<HttpRefusal> OnBodyBytes(size_t /*bytes*/) { return std::nullopt; }
  };

  // A whole request, as TakeRequest hands it over.
  struct Framed {
    std::shared_ptr<httplib::Request> request;
    bool keep_alive = true;  // the client may send another request on this connection
  };

  // `observer` (null: every request is admitted) must outlive the parser.
  HttpRequestParser(size_t max_body_bytes, Observer* observer);
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Frames `input` (the bytes received and not consumed yet, in order) until one request is
  // whole, the input is used up, or it is refused. Returns how many bytes of `input` it consumed:
  // the caller drops them and passes the rest again, followed by what arrives next. Consumes
  // nothing while a whole request waits to be taken, after a refusal, or when `input` is empty.
  size_t Parse(std::string_view input);

  // Whether a whole request waits for TakeRequest.
  bool has_request() const { return complete_; }
  // Hands over the whole request (has_request() must be true); the next Parse frames the next one.
  Framed TakeRequest();
  // Set once the input was malformed or a request was refused (by a limit or the observer).
  const std::optional<HttpRefusal>& refusal() const { return refusal_; }

 private:
  static const http_parser_settings& Settings();
  static HttpRequestParser& Of(http_parser* parser);
  static int OnMessageBegin(http_parser* parser);
  static int OnUrl(http_parser* parser, const char* at, size_t length);
  static int OnHeaderField(http_parser* parser, const char* at, size_t length);
  static int OnHeaderValue(http_parser* parser, const char* at, size_t length);
  static int OnHeadersComplete(http_parser* parser);
  static int OnBody(http_parser* parser, const char* at, size_t length);
  static int OnMessageComplete(http_parser* parser);
  // Adds the header whose name and value were read last to the request.
  void CommitHeader();
  // Records `refusal` (if any) and returns http-parser's code to stop: -1, or 0 to go on.
  int Refuse(std::optional<HttpRefusal> refusal);

  const size_t max_body_bytes_;
  Observer* const observer_;
  http_parser parser_{};
  std::shared_ptr<httplib::Request> request_;  // the request being framed
  std::string target_, field_, value_;         // read so far (http-parser hands them in parts)
  bool in_value_ = false;
  bool complete_ = false;  // request_ is whole
  bool keep_alive_ = true;
  std::optional<HttpRefusal> refusal_;
};

}  // namespace loch
