#include "server/http_request_parser.h"

#include <algorithm>

#include "fmt/format.h"

namespace loch {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX-decoding as cpp-httplib does it: paths keep '+', query parameters turn it into a space.
std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else if (plus_is_space && text[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// Sets the request's target, path and query parameters from the request line's target.
void SetTarget(std::string_view target, httplib::Request& request) {
  request.target = std::string(target);
  const size_t question = target.find('?');
  request.path = PercentDecode(target.substr(0, question), false);
  if (question == std::string_view::npos) return;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t equals = pair.find('=');
    request.params.emplace(
        PercentDecode(pair.substr(0, equals), true),
        equals == std::string_view::npos ? "" : PercentDecode(pair.substr(equals + 1), true));
  }
}

}  // namespace

HttpRequestParser::HttpRequestParser(size_t max_body_bytes, Observer* observer)
    : max_body_bytes_(max_body_bytes), observer_(observer) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

size_t HttpRequestParser::Parse(std::string_view input) {
  // An empty input would tell http-parser that the stream ended.
  if (complete_ || refusal_ || input.empty()) return 0;
  const size_t parsed = http_parser_execute(&parser_, &Settings(), input.data(), input.size());
  const http_errno error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_PAUSED) {
    http_parser_pause(&parser_, 0);  // paused at the end of a whole request
  } else if (error != HPE_OK && !refusal_) {
    refusal_ =
        HttpRefusal{400, fmt::format("malformed HTTP request: {}", http_errno_description(error))};
  }
  return parsed;
}

HttpRequestParser::Framed HttpRequestParser::TakeRequest() {
  complete_ = false;
  return Framed{std::move(request_), keep_alive_};
}

const http_parser_settings& HttpRequestParser::Settings() {
  static const http_parser_settings settings = [] {
    http_parser_settings callbacks{};
    callbacks.on_message_begin = OnMessageBegin;
    callbacks.on_url = OnUrl;
    callbacks.on_header_field = OnHeaderField;
    callbacks.on_header_value = OnHeaderValue;
    callbacks.on_headers_complete = OnHeadersComplete;
    callbacks.on_body = OnBody;
    callbacks.on_message_complete = OnMessageComplete;
    return callbacks;
  }();
  return settings;
}

HttpRequestParser& HttpRequestParser::Of(http_parser* parser) {
  return *static_cast<HttpRequestParser*>(parser->data);
}

int HttpRequestParser::Refuse(std::optional<HttpRefusal> refusal) {
  if (!refusal) return 0;
  refusal_ = std::move(refusal);
  return -1;
}

int HttpRequestParser::OnMessageBegin(http_parser* parser) {
  HttpRequestParser& self = Of(parser);
  self.request_ = std::make_shared<httplib::Request>();
  self.target_.clear();
  self.field_.clear();
  self.value_.clear();
  self.in_value_ = false;
  if (self.observer_ != nullptr) self.observer_->OnRequestBegin();
  return 0;
}

int HttpRequestParser::OnUrl(http_parser* parser, const char* at, size_t length) {
  Of(parser).target_.append(at, length);
  return 0;
}

void HttpRequestParser::CommitHeader() {
  request_->headers.emplace(std::move(field_), std::move(value_));
  field_.clear();
  value_.clear();
  in_value_ = false;
}

int HttpRequestParser::OnHeaderField(http_parser* parser, const char* at, size_t length) {
  HttpRequestParser& self = Of(parser);
  if (self.in_value_) self.CommitHeader();
  self.field_.append(at, length);
  return 0;
}

int HttpRequestParser::OnHeaderValue(http_parser* parser, const char* at, size_t length) {
  HttpRequestParser& self = Of(parser);
  self.in_value_ = true;
  self.value_.append(at, length);
  return 0;
}

int HttpRequestParser::OnHeadersComplete(http_parser* parser) {
  HttpRequestParser& self = Of(parser);
  if (self.in_value_) self.CommitHeader();
  httplib::Request& request = *self.request_;
  request.method = http_method_str(static_cast<http_method>(parser->method));
  request.version = fmt::format("HTTP/{}.{}", parser->http_major, parser->http_minor);
  SetTarget(self.target_, request);
  const bool has_length = (parser->flags & F_CONTENTLENGTH) != 0;
  const bool has_body = (has_length && parser->content_length > 0) || (parser->flags & F_CHUNKED);
  if (has_length && parser->content_length > self.max_body_bytes_) {
    return self.Refuse(HttpRefusal{413, fmt::format("the request body is {} bytes; the limit is {}",
                                                    parser->content_length, self.max_body_bytes_)});
  }
  if (self.observer_ != nullptr) {
    if (const int stop = self.Refuse(self.observer_->OnHeadersComplete(request, has_body))) {
      return stop;
    }
  }
  // Admitted. Memory for the body comes as it arrives (and is charged then, in OnBody): an
  // announced body that never comes holds at most this much.
  constexpr uint64_t kInitialBodyBytes = 1 << 20;
  if (has_length)
    request.body.reserve(std::min<uint64_t>(parser->content_length, kInitialBodyBytes));
  return 0;
}

int HttpRequestParser::OnBody(http_parser* parser, const char* at, size_t length) {
  HttpRequestParser& self = Of(parser);
  std::string& body = self.request_->body;
  if (body.size() + length > self.max_body_bytes_) {
    return self.Refuse(HttpRefusal{
        413, fmt::format("the request body is over the limit of {} bytes", self.max_body_bytes_)});
  }
  if (self.observer_ != nullptr) {
    if (const int stop = self.Refuse(self.observer_->OnBodyBytes(length))) return stop;
  }
  body.append(at, length);
  return 0;
}

int HttpRequestParser::OnMessageComplete(http_parser* parser) {
  HttpRequestParser& self = Of(parser);
  self.complete_ = true;
  self.keep_alive_ = http_should_keep_alive(parser) != 0;
  http_parser_pause(parser, 1);  // one request at a time
  return 0;
}

}  // namespace loch
