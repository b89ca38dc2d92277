#include "ingest/delivery_batcher.h"

#include <zlib.h>
#include <zstd.h>

#include <array>
#include <ctime>

#include "common/memory.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "ingest/json_check.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

// Level 1: about twice as fast as the default 3 on JSON, for a few percent more bytes; delivery
// has to keep up with ingestion on few cores.
constexpr int kZstdLevel = 1;

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

// The text of partition field `field` of `parsed` in `value`, or why it has none fit for a folder.
std::optional<std::string> PartitionValue(const nlohmann::json& parsed, const std::string& field,
                                          std::string& value) {
  if (!parsed.is_object() || !parsed.contains(field) || parsed[field].is_null() ||
      parsed[field].is_structured()) {
    return fmt::format("partition field \"{}\" is missing or not a scalar", field);
  }
  value = ValueText(parsed[field]);
  if (value.empty() || value.size() > 512)
    return fmt::format("partition field \"{}\" is empty or longer than 512 bytes", field);
  return std::nullopt;
}

}  // namespace

absl::Status CompressInto(std::string_view text, Compression compression, std::string& out) {
  if (compression == Compression::kNone) {
    out.assign(text);
    return absl::OkStatus();
  }
  if (compression == Compression::kZstd) {
    // One context per thread: a fresh one allocates (and page-faults) its tables every time.
    thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> context(ZSTD_createCCtx(),
                                                                              ZSTD_freeCCtx);
    size_t size = 0;
    ReserveLargeBuffer(out, ZSTD_compressBound(text.size()));
    // No zero-filling of the output buffer: zstd writes what is kept.
    out.resize_and_overwrite(ZSTD_compressBound(text.size()), [&](char* data, size_t capacity) {
      size = ZSTD_compressCCtx(context.get(), data, capacity, text.data(), text.size(), kZstdLevel);
      return ZSTD_isError(size) ? 0 : size;
    });
    if (ZSTD_isError(size)) {
      return absl::InternalError(
          fmt::format("zstd compression failed: {}", ZSTD_getErrorName(size)));
    }
    return absl::OkStatus();
  }
  ReserveLargeBuffer(out, compressBound(text.size()) + 64);
  out.resize_and_overwrite(compressBound(text.size()) + 64, [](char*, size_t capacity) {
    return capacity;  // deflate writes what is kept
  });
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
  return absl::OkStatus();
}

absl::StatusOr<std::string> Compress(std::string_view text, Compression compression) {
  std::string out;
  RETURN_IF_ERROR(CompressInto(text, compression, out));
  return out;
}

std::optional<std::string> RecordRejection(const StreamConfig& config, std::string_view data) {
  if (config.partition_by.empty()) {
    if (!IsJsonValue(data)) return std::string("not valid JSON");
    return std::nullopt;
  }
  const nlohmann::json parsed = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::string("not valid JSON");
  for (const std::string& field : config.partition_by) {
    std::string value;
    if (std::optional<std::string> problem = PartitionValue(parsed, field, value)) return problem;
  }
  return std::nullopt;
}

const std::string& DeliveryBatcher::HourFolder(int64_t micros) {
  const int64_t hour = micros / (3600LL * 1000000);
  if (hour != cached_hour_) {
    const auto parts = HourParts(micros);
    hour_folder_ = Join({parts[0], parts[1], parts[2], parts[3]}, "/");
    hour_values_ = {{"year", parts[0]}, {"month", parts[1]}, {"day", parts[2]}, {"hour", parts[3]}};
    cached_hour_ = hour;
  }
  return hour_folder_;
}

DeliveryBatcher::Buffer& DeliveryBatcher::BufferFor(
    const std::string& folder, bool errors,
    const std::map<std::string, std::string>& partition_values) {
  const std::string key = errors ? "!" + folder : folder;
  auto it = buffers_.find(key);
  if (it == buffers_.end()) {
    Buffer buffer;
    if (!spare_.empty()) {
      buffer.ndjson = std::move(spare_.back());
      spare_.pop_back();
    } else {
      // Untouched capacity costs no memory; growing a large buffer by doubling would copy it.
      ReserveLargeBuffer(buffer.ndjson, config_.buffer_bytes + (1 << 20));
    }
    buffer.folder = folder;
    buffer.errors = errors;
    buffer.partition_values = partition_values;
    it = buffers_.emplace(key, std::move(buffer)).first;
  }
  return it->second;
}

void DeliveryBatcher::Add(const IngestRecord& record) {
  const std::string& hour_folder = HourFolder(record.arrival_micros);
  auto fail = [&](const std::string& reason) {
    const std::string line = nlohmann::json{
        {"error", reason},
        {"sequence", record.sequence},
        {"data", record.data}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    Append(BufferFor(config_.error_prefix + "/" + hour_folder, true, hour_values_), record, line);
  };

  if (config_.partition_by.empty()) {
    // Always checked: a line that is not JSON makes the object unreadable for the table.
    if (!IsJsonValue(record.data)) return fail("not valid JSON");
    if (record.data.find('\n') == std::string_view::npos) {
      return Append(BufferFor(hour_folder, false, hour_values_), record, record.data);
    }
  }
  // Partitioning (or a record to compact onto one line) needs the parsed value.
  nlohmann::json parsed = nlohmann::json::parse(record.data, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return fail("not valid JSON");
  std::map<std::string, std::string> partition_values = hour_values_;
  std::vector<std::string> folders;
  for (const std::string& field : config_.partition_by) {
    std::string value;
    if (std::optional<std::string> problem = PartitionValue(parsed, field, value))
      return fail(*problem);
    partition_values[field] = value;
    folders.push_back(field + "=" + FolderSafe(value));
  }
  folders.push_back(hour_folder);
  Buffer& buffer = BufferFor(Join(folders, "/"), false, partition_values);
  // One record per line: a record with line breaks inside (pretty-printed JSON) is compacted.
  if (record.data.find('\n') == std::string_view::npos) return Append(buffer, record, record.data);
  Append(buffer, record, parsed.dump());
}

void DeliveryBatcher::Append(Buffer& buffer, const IngestRecord& record, std::string_view line) {
  // A full buffer is sealed first (its size alone decides, so a replay seals at the same record):
  // objects stay near the buffer size and a buffer never outgrows its reserved memory.
  if (!buffer.ndjson.empty() && buffer.ndjson.size() + line.size() + 1 > config_.buffer_bytes) {
    const std::string folder = buffer.folder;
    const bool errors = buffer.errors;
    const std::map<std::string, std::string> partition_values = buffer.partition_values;
    auto it = buffers_.find(errors ? "!" + folder : folder);
    sealed_.push_back(std::move(it->second));
    buffers_.erase(it);
    return Append(BufferFor(folder, errors, partition_values), record, line);
  }
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

void DeliveryBatcher::Recycle(std::string buffer) {
  constexpr size_t kMaxSpare = 64;
  if (spare_.size() >= kMaxSpare || buffer.capacity() > 2 * (config_.buffer_bytes + (1 << 20)))
    return;
  buffer.clear();
  spare_.push_back(std::move(buffer));
}

bool DeliveryBatcher::ShouldFlush(int64_t now_micros) const {
  if (!sealed_.empty()) return true;
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
  for (const Buffer& buffer : sealed_) {
    if (oldest == 0 || buffer.oldest_micros < oldest) oldest = buffer.oldest_micros;
  }
  return oldest;
}

absl::Status CompressObject(DeliveryObject& object, Compression compression) {
  if (object.compressed) return absl::OkStatus();
  RETURN_IF_ERROR(CompressInto(object.ndjson, compression, object.body));
  object.compressed = true;
  return absl::OkStatus();
}

std::vector<DeliveryObject> DeliveryBatcher::TakeAll() {
  std::vector<DeliveryObject> objects;
  const std::string tag = object_tag_.empty() ? "" : object_tag_ + "-";
  for (auto& [key, open] : buffers_) sealed_.push_back(std::move(open));
  for (Buffer& buffer : sealed_) {
    DeliveryObject object;
    object.key =
        fmt::format("raw/{}/{}/{}-{}{:020}.json{}", config_.name, buffer.folder, config_.name, tag,
                    buffer.first_sequence, CompressionSuffix(config_.compression));
    object.ndjson = std::move(buffer.ndjson);
    object.first_sequence = buffer.first_sequence;
    object.last_sequence = buffer.last_sequence;
    object.records = buffer.records;
    object.errors = buffer.errors;
    object.partition_values = std::move(buffer.partition_values);
    objects.push_back(std::move(object));
  }
  buffers_.clear();
  sealed_.clear();
  buffered_bytes_ = 0;
  return objects;
}

}  // namespace loch
