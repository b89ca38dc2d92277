#include "pgwire/frontend_messages.h"

#include "fmt/format.h"
#include "pgwire/wire.h"

namespace loch::pg {
namespace {

// An Int16 count, then that many Int16 format codes.
absl::StatusOr<std::vector<int16_t>> ReadFormats(MessageReader& body) {
  ASSIGN_OR_RETURN(const int16_t count, body.Int16());
  if (count < 0) return absl::InvalidArgumentError("negative format count");
  std::vector<int16_t> formats;
  for (int i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(const int16_t format, body.Int16());
    formats.push_back(format);
  }
  return formats;
}

// Describe's and Close's body; `message` names it in errors.
absl::StatusOr<TargetMessage> DecodeTarget(std::string_view body, std::string_view message) {
  MessageReader reader(body);
  TargetMessage target;
  ASSIGN_OR_RETURN(const uint8_t kind, reader.Byte());
  ASSIGN_OR_RETURN(target.name, reader.CString());
  RETURN_IF_ERROR(reader.ExpectEnd());
  if (kind != 'S' && kind != 'P') {
    return absl::InvalidArgumentError(
        fmt::format("invalid {} kind '{}'", message, static_cast<char>(kind)));
  }
  target.kind = static_cast<char>(kind);
  return target;
}

}  // namespace

absl::StatusOr<std::string> DecodeQuery(std::string_view body) {
  MessageReader reader(body);
  ASSIGN_OR_RETURN(std::string text, reader.CString());
  RETURN_IF_ERROR(reader.ExpectEnd());
  return text;
}

absl::StatusOr<ParseMessage> DecodeParse(std::string_view body) {
  MessageReader reader(body);
  ParseMessage parse;
  ASSIGN_OR_RETURN(parse.statement, reader.CString());
  ASSIGN_OR_RETURN(parse.sql, reader.CString());
  ASSIGN_OR_RETURN(const int16_t count, reader.Int16());
  if (count < 0) return absl::InvalidArgumentError("negative parameter type count");
  for (int i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(const int32_t oid, reader.Int32());
    parse.parameter_oids.push_back(oid);
  }
  RETURN_IF_ERROR(reader.ExpectEnd());
  return parse;
}

absl::StatusOr<BindMessage> DecodeBind(std::string_view body) {
  MessageReader reader(body);
  BindMessage bind;
  ASSIGN_OR_RETURN(bind.portal, reader.CString());
  ASSIGN_OR_RETURN(bind.statement, reader.CString());
  ASSIGN_OR_RETURN(bind.parameter_formats, ReadFormats(reader));
  ASSIGN_OR_RETURN(const int16_t value_count, reader.Int16());
  if (value_count < 0) return absl::InvalidArgumentError("negative parameter count");
  for (int i = 0; i < value_count; ++i) {
    ASSIGN_OR_RETURN(const int32_t length, reader.Int32());
    if (length < -1) return absl::InvalidArgumentError("invalid parameter length");
    if (length == -1) {
      bind.values.emplace_back();  // NULL
      continue;
    }
    ASSIGN_OR_RETURN(std::string value, reader.Bytes(static_cast<size_t>(length)));
    bind.values.emplace_back(std::move(value));
  }
  // Negative, like the other counts, is malformed: not "no formats".
  ASSIGN_OR_RETURN(bind.result_formats, ReadFormats(reader));
  RETURN_IF_ERROR(reader.ExpectEnd());
  return bind;
}

absl::StatusOr<TargetMessage> DecodeDescribe(std::string_view body) {
  return DecodeTarget(body, "Describe");
}

absl::StatusOr<TargetMessage> DecodeClose(std::string_view body) {
  return DecodeTarget(body, "Close");
}

absl::StatusOr<ExecuteMessage> DecodeExecute(std::string_view body) {
  MessageReader reader(body);
  ExecuteMessage execute;
  ASSIGN_OR_RETURN(execute.portal, reader.CString());
  ASSIGN_OR_RETURN(execute.max_rows, reader.Int32());
  RETURN_IF_ERROR(reader.ExpectEnd());
  return execute;
}

}  // namespace loch::pg
