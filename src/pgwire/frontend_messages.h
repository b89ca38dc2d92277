#pragma once
// Decoding of the frontend (client -> server) messages a session handles once the client is
// logged in: Query, Parse, Bind, Describe, Execute and Close. Each function reads one whole
// received body (without its type byte and length) into a plain struct, through wire.h's
// bounds-checked MessageReader.
//
// InvalidArgument when the body does not hold exactly the message's fields (too short, an
// unterminated string, a negative count or length, an unknown Describe/Close kind, bytes left
// over): the session answers it with 08P01 and closes the connection. What the fields mean (does
// the statement exist, is a format supported) is the session's business. Pure functions;
// thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace loch::pg {

// Query ('Q'): the text of one or more statements.
absl::StatusOr<std::string> DecodeQuery(std::string_view body);

// Parse ('P'): prepares `sql` as `statement` ("" is the unnamed one).
struct ParseMessage {
  std::string statement;
  std::string sql;
  std::vector<int32_t> parameter_oids;  // as declared (0: unspecified); may be fewer than used
};
absl::StatusOr<ParseMessage> DecodeParse(std::string_view body);

// Bind ('B'): makes `portal` from `statement` with parameter values.
struct BindMessage {
  std::string portal;
  std::string statement;
  std::vector<int16_t> parameter_formats;          // 0 text, 1 binary; none: all text
  std::vector<std::optional<std::string>> values;  // nullopt: NULL
  std::vector<int16_t> result_formats;             // as parameter_formats, for the columns
};
absl::StatusOr<BindMessage> DecodeBind(std::string_view body);

// Describe ('D') and Close ('C') name a prepared statement or a portal.
struct TargetMessage {
  char kind = 'S';  // 'S' a prepared statement, 'P' a portal
  std::string name;
};
absl::StatusOr<TargetMessage> DecodeDescribe(std::string_view body);
absl::StatusOr<TargetMessage> DecodeClose(std::string_view body);

// Execute ('E'): runs `portal`, returning at most `max_rows` rows (0 or less: all).
struct ExecuteMessage {
  std::string portal;
  int32_t max_rows = 0;
};
absl::StatusOr<ExecuteMessage> DecodeExecute(std::string_view body);

}  // namespace loch::pg
