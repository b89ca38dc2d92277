#include "ingest/delivery_batcher.h"

#include <zlib.h>
#include <zstd.h>

#include <array>
#include <ctime>

#include "common/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

// yyyy, mm, dd, hh of `micros` in UTC.
std::array<std::string, 4> HourParts(int64_t micros) {
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return {fmt::format("{:04}", tm.tm_year + 1900), fmt::format("{:02}", tm.tm_mon + 1),
          fmt::format("{:02}", tm.tm_mday), fmt::format("{:02}", tm.tm_hour)};
}

// A partition value made safe as a folder name: [A-Za-z0-9._-] kept, the rest percent-encoded.
std::string FolderSafe(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  if (out == "." || out == "..") out = "%2E" + out.substr(1);
  return out;
}

std::string ValueText(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

absl::StatusOr<std::string> Compress(const std::string& text, Compression compression) {
  if (compression == Compression::kNone) return text;
  if (compression == Compression::kZstd) {
    std::string out(ZSTD_compressBound(text.size()), '\0');
    const size_t size = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
    if (ZSTD_isError(size)) {
      return absl::InternalError(
          fmt::format("zstd compression failed: {}", ZSTD_getErrorName(size)));
    }
    out.resize(size);
    return out;
  }
  std::string out(compressBound(text.size()) + 64, '\0');
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return absl::InternalError("gzip compression could not start");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) return absl::InternalError("gzip compression failed");
  return out;
}

void DeliveryBatcher::Add(const IngestRecord& record) {
  const auto hour = HourParts(record.arrival_micros);
  const std::string hour_folder = Join({hour[0], hour[1], hour[2], hour[3]}, "/");
  const std::map<std::string, std::string> time_values = {
      {"year", hour[0]}, {"month", hour[1]}, {"day", hour[2]}, {"hour", hour[3]}};
  auto fail = [&](const std::string& reason) {
    Buffer prototype;
    prototype.folder = config_.error_prefix + "/" + hour_folder;
    prototype.partition_values = time_values;
    prototype.errors = true;
    std::string line =
        nlohmann::json{{"error", reason}, {"sequence", record.sequence}, {"data", record.data}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string key = "!" + prototype.folder;  // before prototype is moved from
    Append(key, std::move(prototype), record, std::move(line));
  };

  nlohmann::json parsed;
  const bool needs_json = config_.validate_json || !config_.partition_by.empty();
  if (needs_json) {
    parsed = nlohmann::json::parse(record.data, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return fail("not valid JSON");
  }
  Buffer prototype;
  prototype.partition_values = time_values;
  std::vector<std::string> folders;
  for (const std::string& field : config_.partition_by) {
    if (!parsed.is_object() || !parsed.contains(field) || parsed[field].is_null() ||
        parsed[field].is_structured()) {
      return fail(fmt::format("partition field \"{}\" is missing or not a scalar", field));
    }
    const std::string value = ValueText(parsed[field]);
    if (value.empty() || value.size() > 512) {
      return fail(fmt::format("partition field \"{}\" is empty or longer than 512 bytes", field));
    }
    prototype.partition_values[field] = value;
    folders.push_back(field + "=" + FolderSafe(value));
  }
  folders.push_back(hour_folder);
  prototype.folder = Join(folders, "/");
  std::string line = record.data;
  // One record per line: a record with line breaks inside (pretty-printed JSON) is compacted.
  if (line.find('\n') != std::string::npos) {
    line = parsed.is_discarded() || parsed.is_null() ? nlohmann::json(record.data).dump()
                                                     : parsed.dump();
  }
  const std::string key = prototype.folder;  // before prototype is moved from
  Append(key, std::move(prototype), record, std::move(line));
}

void DeliveryBatcher::Append(const std::string& buffer_key, Buffer prototype,
                             const IngestRecord& record, std::string line) {
  auto [it, inserted] = buffers_.try_emplace(buffer_key, std::move(prototype));
  Buffer& buffer = it->second;
  if (buffer.records == 0) {
    buffer.first_sequence = record.sequence;
    buffer.oldest_micros = record.arrival_micros;
  }
  buffer.last_sequence = record.sequence;
  ++buffer.records;
  buffer.ndjson += line;
  buffer.ndjson += '\n';
  buffered_bytes_ += line.size() + 1;
}

bool DeliveryBatcher::ShouldFlush(int64_t now_micros) const {
  if (buffers_.empty()) return false;
  if (buffers_.size() > config_.max_open_partitions) return true;
  for (const auto& [key, buffer] : buffers_) {
    if (buffer.ndjson.size() >= config_.buffer_bytes) return true;
  }
  return now_micros - oldest_arrival_micros() >= config_.buffer_seconds * 1000000;
}

int64_t DeliveryBatcher::oldest_arrival_micros() const {
  int64_t oldest = 0;
  for (const auto& [key, buffer] : buffers_) {
    if (oldest == 0 || buffer.oldest_micros < oldest) oldest = buffer.oldest_micros;
  }
  return oldest;
}

absl::Status CompressObject(DeliveryObject& object, Compression compression) {
  if (object.compressed) return absl::OkStatus();
  ASSIGN_OR_RETURN(object.body, Compress(object.body, compression));
  object.compressed = true;
  return absl::OkStatus();
}

std::vector<DeliveryObject> DeliveryBatcher::TakeAll() {
  std::vector<DeliveryObject> objects;
  const std::string tag = object_tag_.empty() ? "" : object_tag_ + "-";
  for (auto& [key, buffer] : buffers_) {
    DeliveryObject object;
    object.key =
        fmt::format("raw/{}/{}/{}-{}{:020}.json{}", config_.name, buffer.folder, config_.name, tag,
                    buffer.first_sequence, CompressionSuffix(config_.compression));
    object.body = std::move(buffer.ndjson);
    object.first_sequence = buffer.first_sequence;
    object.last_sequence = buffer.last_sequence;
    object.records = buffer.records;
    object.errors = buffer.errors;
    object.partition_values = std::move(buffer.partition_values);
    objects.push_back(std::move(object));
  }
  buffers_.clear();
  buffered_bytes_ = 0;
  return objects;
}

}  // namespace loch
