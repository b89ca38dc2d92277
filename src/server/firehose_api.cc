#include "server/firehose_api.h"

#include <openssl/evp.h>

#include <array>

#include "common/strings.h"
#include "fmt/format.h"
#include "server/stream_api.h"

namespace loch {
namespace {

using nlohmann::json;

constexpr const char* kArnPrefix = "arn:aws:firehose:local:000000000000:deliverystream/";

AwsError FirehoseError(const absl::Status& status) {
  const std::string message(ToStd(status.message()));
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return {403, "MissingAuthenticationTokenException", message};
    case absl::StatusCode::kPermissionDenied:
      return {403, "AccessDeniedException", message};
    case absl::StatusCode::kNotFound:
      return {400, "ResourceNotFoundException", message};
    case absl::StatusCode::kAlreadyExists:
      return {400, "ResourceInUseException", message};
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
      return {503, "ServiceUnavailableException", message};
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return {500, "InternalFailure", message};
    default:
      return {400, "InvalidArgumentException", message};
  }
}

absl::StatusOr<std::string> StreamName(const json& body) {
  return RequiredString(body, "DeliveryStreamName");
}

// A record's data: `record` must be {"Data": "<base64>"}; `where` names it in errors.
absl::StatusOr<std::string> RecordData(const json& record, const std::string& where) {
  if (!record.is_object() || !record.contains("Data") || !record["Data"].is_string()) {
    return absl::InvalidArgumentError(
        fmt::format("{} must be an object with a base64 string Data", where));
  }
  auto data = DecodeBase64(record["Data"].get_ref<const std::string&>());
  if (!data.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}.Data: {}", where, ToStd(data.status().message())));
  }
  return data;
}

absl::StatusOr<StreamConfig> ConfigFromCreate(const json& body) {
  StreamConfig config;
  ASSIGN_OR_RETURN(config.name, StreamName(body));
  ASSIGN_OR_RETURN(const std::string type, OptionalString(body, "DeliveryStreamType", "DirectPut"));
  if (type != "DirectPut") {
    return absl::InvalidArgumentError(
        fmt::format("DeliveryStreamType {} is not supported; loch streams are DirectPut", type));
  }
  json destination = json::object();
  for (const char* field : {"ExtendedS3DestinationConfiguration", "S3DestinationConfiguration"}) {
    if (body.contains(field) && body[field].is_object()) destination = body[field];
  }
  try {
    if (destination.contains("BufferingHints")) {
      const json& hints = destination["BufferingHints"];
      if (hints.contains("SizeInMBs")) {
        ASSIGN_OR_RETURN(const int64_t mib, OptionalInteger(hints, "SizeInMBs", 0));
        // Checked before the shift: a huge value would wrap around to a small valid size.
        if (mib < 1 || mib > 128) {
          return absl::InvalidArgumentError(
              fmt::format("BufferingHints.SizeInMBs is {}; it must be between 1 and 128", mib));
        }
        config.buffer_bytes = static_cast<uint64_t>(mib) << 20;
      }
      ASSIGN_OR_RETURN(config.buffer_seconds,
                       OptionalInteger(hints, "IntervalInSeconds", config.buffer_seconds));
    }
    if (destination.contains("CompressionFormat")) {
      const std::string format = destination["CompressionFormat"].get<std::string>();
      if (format == "UNCOMPRESSED") {
        config.compression = Compression::kNone;
      } else if (format == "GZIP") {
        config.compression = Compression::kGzip;
      } else if (format == "ZSTD") {
        config.compression = Compression::kZstd;
      } else {
        return absl::InvalidArgumentError(fmt::format(
            "CompressionFormat {} is not supported; use UNCOMPRESSED, GZIP or ZSTD", format));
      }
    }
    if (destination.contains("DataFormatConversionConfiguration")) {
      // Record format conversion: the "Glue table" is a catalog table; Parquet is the output.
      const json& conversion = destination["DataFormatConversionConfiguration"];
      if (conversion.value("Enabled", true)) {
        const json& schema = conversion.at("SchemaConfiguration");
        config.parquet_table = fmt::format("{}.{}", schema.at("DatabaseName").get<std::string>(),
                                           schema.at("TableName").get<std::string>());
        const json serializer = conversion.value("OutputFormatConfiguration", json::object())
                                    .value("Serializer", json::object());
        if (!serializer.empty() && !serializer.contains("ParquetSerDe")) {
          return absl::InvalidArgumentError(
              "only ParquetSerDe output is supported by DataFormatConversionConfiguration");
        }
      }
    }
    if (destination.contains("ErrorOutputPrefix"))
      config.error_prefix = destination["ErrorOutputPrefix"].get<std::string>();
    while (config.error_prefix.ends_with('/')) config.error_prefix.pop_back();
  } catch (const json::exception& error) {
    return absl::InvalidArgumentError(fmt::format(
        "the destination configuration has a field of the wrong type: {}", error.what()));
  }
  RETURN_IF_ERROR(ValidateStreamConfig(config));
  return config;
}

json DescriptionJson(const StreamDescription& stream) {
  static const std::map<Compression, const char*> kFormats = {{Compression::kNone, "UNCOMPRESSED"},
                                                              {Compression::kGzip, "GZIP"},
                                                              {Compression::kZstd, "ZSTD"}};
  const StreamConfig& config = stream.config;
  json destination = {
      {"RoleARN", "arn:aws:iam::000000000000:role/loch"},
      {"BucketARN", "arn:aws:s3:::lake"},
      {"Prefix", fmt::format("raw/{}/", config.name)},
      {"ErrorOutputPrefix", fmt::format("raw/{}/{}/", config.name, config.error_prefix)},
      {"BufferingHints",
       {{"SizeInMBs", config.buffer_bytes >> 20}, {"IntervalInSeconds", config.buffer_seconds}}},
      {"CompressionFormat", kFormats.at(config.compression)},
      {"EncryptionConfiguration", {{"NoEncryptionConfig", "NoEncryption"}}}};
  if (!config.parquet_table.empty()) {
    const size_t dot = config.parquet_table.find('.');
    destination["DataFormatConversionConfiguration"] = {
        {"Enabled", true},
        {"SchemaConfiguration",
         {{"DatabaseName", config.parquet_table.substr(0, dot)},
          {"TableName", config.parquet_table.substr(dot + 1)}}},
        {"OutputFormatConfiguration", {{"Serializer", {{"ParquetSerDe", json::object()}}}}}};
  }
  return {{"DeliveryStreamName", config.name},
          {"DeliveryStreamARN", kArnPrefix + config.name},
          {"DeliveryStreamStatus", "ACTIVE"},
          {"DeliveryStreamType", "DirectPut"},
          {"VersionId", "1"},
          {"CreateTimestamp", static_cast<double>(stream.created_micros) / 1e6},
          {"Destinations",
           {{{"DestinationId", "destinationId-000000000001"},
             {"S3DestinationDescription", destination},
             {"ExtendedS3DestinationDescription", destination}}}},
          {"HasMoreDestinations", false}};
}

// The data of a PutRecord's or PutRecordBatch's records, checked against Firehose's limits.
absl::StatusOr<std::vector<std::string>> RecordsToPut(const std::string& action, const json& body) {
  std::vector<std::string> data;
  if (action == "PutRecord") {
    if (!body.contains("Record")) return absl::InvalidArgumentError("Record is required");
    ASSIGN_OR_RETURN(std::string one, RecordData(body["Record"], "Record"));
    data.push_back(std::move(one));
    return data;
  }
  if (!body.contains("Records") || !body["Records"].is_array() || body["Records"].empty())
    return absl::InvalidArgumentError("Records must be a non-empty array");
  const json& records = body["Records"];
  if (records.size() > kMaxBatchRecords) {
    return absl::InvalidArgumentError(
        fmt::format("PutRecordBatch takes at most {} records; this call has {}", kMaxBatchRecords,
                    records.size()));
  }
  size_t bytes = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    ASSIGN_OR_RETURN(std::string one, RecordData(records[i], fmt::format("Records[{}]", i)));
    bytes += one.size();
    data.push_back(std::move(one));
  }
  if (bytes > kMaxBatchBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "PutRecordBatch takes at most {} bytes of data; this call has {}", kMaxBatchBytes, bytes));
  }
  return data;
}

// What PutRecord or PutRecordBatch answers once the records are durable.
absl::StatusOr<json> PutAnswer(const std::string& action,
                               const std::vector<PutRecordResult>& results) {
  if (action == "PutRecord") {
    RETURN_IF_ERROR(results.front().status);
    return json{{"RecordId", results.front().record_id}, {"Encrypted", false}};
  }
  json answers = json::array();
  size_t failed = 0;
  for (const PutRecordResult& result : results) {
    if (result.status.ok()) {
      answers.push_back({{"RecordId", result.record_id}});
    } else {
      ++failed;
      answers.push_back({{"ErrorCode", FirehoseError(result.status).type},
                         {"ErrorMessage", ToStd(result.status.message())}});
    }
  }
  return json{{"FailedPutCount", failed}, {"Encrypted", false}, {"RequestResponses", answers}};
}

// PutRecord and PutRecordBatch: answered once the records are durable, without holding a thread.
void Put(IngestService& ingest, const Principal& who, FirehoseRequest request,
         const AwsAnswer& answer) {
  auto kept = std::make_shared<std::vector<std::string>>(std::move(request.records));
  const std::vector<std::string_view> records(kept->begin(), kept->end());
  ingest.PutAsync(who, request.stream, records,
                  [kept, action = request.action,
                   answer](absl::StatusOr<std::vector<PutRecordResult>> results) {
                    if (!results.ok()) return answer(results.status());
                    answer(PutAnswer(action, *results));
                  });
}

// The stream management operations.
absl::StatusOr<json> Manage(IngestService& ingest, const Principal& who,
                            const FirehoseRequest& request) {
  if (request.action == "CreateDeliveryStream") {
    RETURN_IF_ERROR(ingest.CreateStream(who, request.config).status());
    return json{{"DeliveryStreamARN", kArnPrefix + request.config.name}};
  }
  if (request.action == "DescribeDeliveryStream") {
    ASSIGN_OR_RETURN(StreamDescription stream, ingest.DescribeStream(who, request.stream));
    return json{{"DeliveryStreamDescription", DescriptionJson(stream)}};
  }
  if (request.action == "ListDeliveryStreams") {
    json names = json::array();
    bool more = false;
    for (const StreamDescription& stream : ingest.ListStreams(who)) {
      if (!request.after.empty() && stream.config.name <= request.after) continue;
      if (names.size() == static_cast<size_t>(request.limit)) {
        more = true;
        break;
      }
      names.push_back(stream.config.name);
    }
    return json{{"DeliveryStreamNames", names}, {"HasMoreDeliveryStreams", more}};
  }
  if (request.action == "DeleteDeliveryStream") {
    RETURN_IF_ERROR(ingest.DeleteStream(who, request.stream, request.force));
    return json::object();
  }
  return absl::InternalError(
      fmt::format("Firehose action {} is parsed but not handled", request.action));
}

}  // namespace

absl::StatusOr<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0)
    return absl::InvalidArgumentError("not valid base64 (its length is not a multiple of 4)");
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  // EVP_DecodeBlock skips leading/trailing whitespace and ignores where padding sits; be strict.
  const size_t padding = text.ends_with("==") ? 2 : (text.ends_with('=') ? 1 : 0);
  const size_t body = text.size() - padding;
  static constexpr auto kAlphabet = [] {
    std::array<bool, 256> in{};
    for (char c :
         std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
      in[static_cast<unsigned char>(c)] = true;
    return in;
  }();
  const bool clean = std::all_of(text.begin(), text.begin() + static_cast<ptrdiff_t>(body),
                                 [](char c) { return kAlphabet[static_cast<unsigned char>(c)]; });
  if (decoded < 0 || !clean) return absl::InvalidArgumentError("not valid base64");
  out.resize(static_cast<size_t>(decoded) - padding);
  return out;
}

absl::StatusOr<FirehoseRequest> ParseFirehoseRequest(const std::string& action, const json& body) {
  FirehoseRequest request;
  request.action = action;
  if (action == "CreateDeliveryStream") {
    ASSIGN_OR_RETURN(request.config, ConfigFromCreate(body));
    request.stream = request.config.name;
  } else if (IsFirehosePut(action)) {
    ASSIGN_OR_RETURN(request.stream, StreamName(body));
    ASSIGN_OR_RETURN(request.records, RecordsToPut(action, body));
  } else if (action == "DescribeDeliveryStream") {
    ASSIGN_OR_RETURN(request.stream, StreamName(body));
  } else if (action == "ListDeliveryStreams") {
    ASSIGN_OR_RETURN(request.limit, OptionalInteger(body, "Limit", 10000));
    if (request.limit < 1 || request.limit > 10000)
      return absl::InvalidArgumentError("Limit must be 1 to 10000");
    ASSIGN_OR_RETURN(request.after, OptionalString(body, "ExclusiveStartDeliveryStreamName", ""));
  } else if (action == "DeleteDeliveryStream") {
    ASSIGN_OR_RETURN(request.stream, StreamName(body));
    request.force = body.contains("AllowForceDelete") && body["AllowForceDelete"].is_boolean() &&
                    body["AllowForceDelete"].get<bool>();
  } else {
    return absl::UnimplementedError(
        fmt::format("unknown or unsupported operation Firehose_20150804.{}", action));
  }
  return request;
}

AwsJsonService FirehoseService(IngestService& ingest) {
  return AwsJsonService{"Firehose_20150804.",
                        [&ingest](const Principal& who, const std::string& action, const json& body,
                                  const AwsAnswer& answer) {
                          absl::StatusOr<FirehoseRequest> request =
                              ParseFirehoseRequest(action, body);
                          if (!request.ok()) return answer(request.status());
                          if (IsFirehosePut(action)) {
                            return Put(ingest, who, std::move(*request), answer);
                          }
                          answer(Manage(ingest, who, *request));
                        },
                        FirehoseError};
}

bool IsFirehosePut(std::string_view action) {
  return action == "PutRecord" || action == "PutRecordBatch";
}

}  // namespace loch
