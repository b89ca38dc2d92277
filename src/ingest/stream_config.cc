#include "ingest/stream_config.h"

#include <cctype>

#include "catalog/model.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

std::string StreamConfig::TableName() const {
  std::string table = name;
  for (char& c : table) {
    c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return "raw." + table;
}

std::string StreamConfig::ErrorsTableName() const { return TableName() + "_errors"; }

const char* CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kZstd:
      return "zstd";
    case Compression::kGzip:
      return "gzip";
    case Compression::kNone:
      return "none";
  }
  return "?";
}

const char* CompressionSuffix(Compression compression) {
  switch (compression) {
    case Compression::kZstd:
      return ".zst";
    case Compression::kGzip:
      return ".gz";
    case Compression::kNone:
      return "";
  }
  return "";
}

absl::Status ValidateStreamConfig(const StreamConfig& config) {
  const auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  };
  if (config.name.empty() || config.name.size() > 64 ||
      !std::all_of(config.name.begin(), config.name.end(), name_char)) {
    return absl::InvalidArgumentError(
        fmt::format("stream name \"{}\" must be 1-64 letters, digits, '-' or '_'", config.name));
  }
  if (config.buffer_bytes < (1u << 20) || config.buffer_bytes > (128u << 20)) {
    return absl::InvalidArgumentError(
        fmt::format("buffer size {} bytes is outside 1-128 MiB", config.buffer_bytes));
  }
  if (config.buffer_seconds < 0 || config.buffer_seconds > 900) {
    return absl::InvalidArgumentError(
        fmt::format("buffer interval {} s is outside 0-900 s", config.buffer_seconds));
  }
  for (const std::string& field : config.partition_by) {
    if (field.empty() || !std::all_of(field.begin(), field.end(), name_char)) {
      return absl::InvalidArgumentError(fmt::format(
          "partition field \"{}\" must be letters, digits, '-' or '_' (a top-level JSON field)",
          field));
    }
  }
  if (config.max_open_partitions < 1 || config.max_open_partitions > 10000) {
    return absl::InvalidArgumentError("max open partitions must be 1-10000");
  }
  if (!config.parquet_table.empty()) {
    auto table = TableName::Parse(config.parquet_table);
    if (!table.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("parquet table: {}", ToStd(table.status().message())));
    }
  }
  if (config.error_prefix.empty() || config.error_prefix.find("..") != std::string::npos ||
      config.error_prefix.front() == '/') {
    return absl::InvalidArgumentError(
        fmt::format("error prefix \"{}\" must be a relative folder name", config.error_prefix));
  }
  return absl::OkStatus();
}

nlohmann::json StreamConfigToJson(const StreamConfig& config) {
  return {{"name", config.name},
          {"buffer_bytes", config.buffer_bytes},
          {"buffer_seconds", config.buffer_seconds},
          {"compression", CompressionName(config.compression)},
          {"validate_json", config.validate_json},
          {"reject_invalid", config.reject_invalid},
          {"partition_by", config.partition_by},
          {"max_open_partitions", config.max_open_partitions},
          {"error_prefix", config.error_prefix},
          {"parquet_table", config.parquet_table},
          {"table", config.TableName()}};
}

absl::StatusOr<StreamConfig> StreamConfigFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("a stream must be a JSON object");
  StreamConfig config;
  try {
    if (!json.contains("name") || !json["name"].is_string()) {
      return absl::InvalidArgumentError("\"name\" (a string) is required");
    }
    config.name = json["name"].get<std::string>();
    config.buffer_bytes = json.value("buffer_bytes", config.buffer_bytes);
    config.buffer_seconds = json.value("buffer_seconds", config.buffer_seconds);
    const std::string compression = json.value("compression", std::string("zstd"));
    if (compression == "zstd") {
      config.compression = Compression::kZstd;
    } else if (compression == "gzip") {
      config.compression = Compression::kGzip;
    } else if (compression == "none") {
      config.compression = Compression::kNone;
    } else {
      return absl::InvalidArgumentError(
          fmt::format("compression \"{}\" is not zstd, gzip or none", compression));
    }
    config.validate_json = json.value("validate_json", false);
    config.reject_invalid = json.value("reject_invalid", false);
    config.partition_by = json.value("partition_by", std::vector<std::string>{});
    config.max_open_partitions = json.value("max_open_partitions", config.max_open_partitions);
    config.error_prefix = json.value("error_prefix", config.error_prefix);
    config.parquet_table = json.value("parquet_table", config.parquet_table);
  } catch (const nlohmann::json::exception& error) {
    return absl::InvalidArgumentError(
        fmt::format("a stream field has the wrong type: {}", error.what()));
  }
  RETURN_IF_ERROR(ValidateStreamConfig(config));
  return config;
}

}  // namespace loch
