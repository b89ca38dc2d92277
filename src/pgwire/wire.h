#pragma once
// PostgreSQL frontend/backend protocol v3 framing: bounds-checked reading of one message body and
// building of backend messages. All integers are big-endian (network order).
//
// A message on the wire is: type byte (absent in the startup packet), int32 length counting
// itself, then the body. MessageReader reads a body that has already been received whole;
// every read checks bounds, so a hostile length can never read past the body.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace loch::pg {

// Limits on what a client may send before we drop the connection (protocol_violation).
inline constexpr uint32_t kMaxStartupLength = 10000;     // as PostgreSQL
inline constexpr uint32_t kMaxMessageLength = 64 << 20;  // one Parse/Bind/Query body

class MessageReader {
 public:
  explicit MessageReader(std::string_view body) : body_(body) {}

  absl::StatusOr<uint8_t> Byte();
  absl::StatusOr<int16_t> Int16();
  absl::StatusOr<int32_t> Int32();
  // A NUL-terminated string (the NUL is consumed, not returned).
  absl::StatusOr<std::string> CString();
  // Exactly `length` raw bytes.
  absl::StatusOr<std::string> Bytes(size_t length);
  size_t remaining() const { return body_.size() - offset_; }
  // InvalidArgument if bytes are left over (a message longer than its fields).
  absl::Status ExpectEnd() const;

 private:
  absl::Status Need(size_t count) const;
  std::string_view body_;
  size_t offset_ = 0;
};

// Builds one or more backend messages into a byte string ready to send.
class MessageWriter {
 public:
  // Starts a message of `type`; the length is filled in by End().
  MessageWriter& Begin(char type);
  MessageWriter& Byte(uint8_t value);
  MessageWriter& Int16(int16_t value);
  MessageWriter& Int32(int32_t value);
  MessageWriter& CString(std::string_view text);  // appends text and a NUL
  MessageWriter& Bytes(std::string_view bytes);
  MessageWriter& End();

  const std::string& data() const { return data_; }
  void Clear() { data_.clear(); }

 private:
  std::string data_;
  size_t start_ = 0;  // offset of the current message's length field
};

}  // namespace loch::pg
