#include "pgwire/wire.h"

#include <cstring>

#include "fmt/format.h"

namespace loch::pg {

absl::Status MessageReader::Need(size_t count) const {
  if (count > remaining()) {
    return absl::InvalidArgumentError(
        fmt::format("message too short: {} more bytes expected at offset {}", count, offset_));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint8_t> MessageReader::Byte() {
  RETURN_IF_ERROR(Need(1));
  return static_cast<uint8_t>(body_[offset_++]);
}

absl::StatusOr<int16_t> MessageReader::Int16() {
  RETURN_IF_ERROR(Need(2));
  const auto* p = reinterpret_cast<const uint8_t*>(body_.data() + offset_);
  offset_ += 2;
  return static_cast<int16_t>((p[0] << 8) | p[1]);
}

absl::StatusOr<int32_t> MessageReader::Int32() {
  RETURN_IF_ERROR(Need(4));
  const auto* p = reinterpret_cast<const uint8_t*>(body_.data() + offset_);
  offset_ += 4;
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

absl::StatusOr<std::string> MessageReader::CString() {
  const size_t end = body_.find('\0', offset_);
  if (end == std::string_view::npos) {
    return absl::InvalidArgumentError(
        fmt::format("unterminated string at offset {} of the message", offset_));
  }
  std::string text(body_.substr(offset_, end - offset_));
  offset_ = end + 1;
  return text;
}

absl::StatusOr<std::string> MessageReader::Bytes(size_t length) {
  RETURN_IF_ERROR(Need(length));
  std::string bytes(body_.substr(offset_, length));
  offset_ += length;
  return bytes;
}

absl::Status MessageReader::ExpectEnd() const {
  if (remaining() != 0) {
    return absl::InvalidArgumentError(
        fmt::format("message has {} unexpected bytes at its end", remaining()));
  }
  return absl::OkStatus();
}

MessageWriter& MessageWriter::Begin(char type) {
  data_.push_back(type);
  start_ = data_.size();
  return Int32(0);
}

MessageWriter& MessageWriter::Byte(uint8_t value) {
  data_.push_back(static_cast<char>(value));
  return *this;
}

MessageWriter& MessageWriter::Int16(int16_t value) {
  const auto v = static_cast<uint16_t>(value);
  data_.push_back(static_cast<char>(v >> 8));
  data_.push_back(static_cast<char>(v & 0xff));
  return *this;
}

MessageWriter& MessageWriter::Int32(int32_t value) {
  const auto v = static_cast<uint32_t>(value);
  for (int shift = 24; shift >= 0; shift -= 8)
    data_.push_back(static_cast<char>((v >> shift) & 0xff));
  return *this;
}

MessageWriter& MessageWriter::CString(std::string_view text) {
  data_.append(text);
  data_.push_back('\0');
  return *this;
}

MessageWriter& MessageWriter::Bytes(std::string_view bytes) {
  data_.append(bytes);
  return *this;
}

MessageWriter& MessageWriter::End() {
  const auto length = static_cast<uint32_t>(data_.size() - start_);
  for (int i = 0; i < 4; ++i)
    data_[start_ + i] = static_cast<char>((length >> (24 - 8 * i)) & 0xff);
  return *this;
}

}  // namespace loch::pg
