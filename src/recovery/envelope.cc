#include "recovery/envelope.h"

#include "fmt/format.h"

namespace loch {

namespace {
constexpr size_t kMaxHeaderBytes = 1 << 20;
}  // namespace

std::string EncodeEnvelope(std::string_view magic, const nlohmann::json& header,
                           std::string_view payload) {
  const std::string text = header.dump();
  std::string out(magic);
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((text.size() >> shift) & 0xff);
  out += text;
  out += payload;
  return out;
}

absl::StatusOr<Envelope> ParseEnvelope(std::string_view bytes, std::string_view magic,
                                       std::string_view what) {
  if (!bytes.starts_with(magic) || bytes.size() < magic.size() + 4) {
    return absl::DataLossError(fmt::format("not a {} (it does not start with {})", what, magic));
  }
  size_t header_bytes = 0;
  for (size_t i = 0; i < 4; ++i)
    header_bytes = header_bytes << 8 | static_cast<uint8_t>(bytes[magic.size() + i]);
  bytes.remove_prefix(magic.size() + 4);
  if (header_bytes > kMaxHeaderBytes || header_bytes > bytes.size()) {
    return absl::DataLossError(
        fmt::format("the {}'s header ({} bytes) is cut off or too large", what, header_bytes));
  }
  Envelope envelope;
  envelope.header =
      nlohmann::json::parse(bytes.substr(0, header_bytes), nullptr, /*allow_exceptions=*/false);
  if (!envelope.header.is_object())
    return absl::DataLossError(fmt::format("the {}'s header is not valid", what));
  envelope.payload = bytes.substr(header_bytes);
  return envelope;
}

std::string HeaderText(const nlohmann::json& header, const char* name) {
  return header.contains(name) && header[name].is_string() ? header[name].get<std::string>()
                                                           : std::string();
}

int64_t HeaderNumber(const nlohmann::json& header, const char* name) {
  if (!header.contains(name) || !header[name].is_number_integer()) return -1;
  const int64_t value = header[name].get<int64_t>();
  return value < 0 ? -1 : value;
}

}  // namespace loch
