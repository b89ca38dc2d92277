#include "server/stream_api.h"

#include <httplib.h>

#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "ingest/decompress.h"
#include "ingest/json_check.h"
#include "server/json_depth.h"

namespace loch {
namespace {

using nlohmann::json;

constexpr char kNoRecords[] = "the body holds no records (send NDJSON or a JSON array)";

absl::Status CheckBatchLimits(size_t records, size_t bytes) {
  if (records > kMaxBatchRecords) {
    return absl::InvalidArgumentError(fmt::format(
        "more than {0} records in one call: the limit is {0} (split the batch)", kMaxBatchRecords));
  }
  if (bytes > kMaxBatchBytes) {
    return absl::InvalidArgumentError(
        fmt::format("{} bytes of records in one call; the limit is {} (split the batch)", bytes,
                    kMaxBatchBytes));
  }
  return absl::OkStatus();
}

// What a records put answers once its accepted records are durable.
json PutRecordsAnswer(const std::vector<PutRecordResult>& results) {
  json answers = json::array();
  size_t failed = 0;
  for (const PutRecordResult& result : results) {
    if (result.status.ok()) {
      answers.push_back({{"record_id", result.record_id}});
    } else {
      ++failed;
      answers.push_back({{"error", ToStd(result.status.message())}});
    }
  }
  return {{"accepted", results.size() - failed}, {"failed", failed}, {"records", answers}};
}

}  // namespace

absl::StatusOr<std::vector<std::string_view>> SplitRecordsBody(std::string_view body,
                                                               std::vector<std::string>& storage) {
  if (body.size() > kMaxBatchBytes + kMaxBatchRecords * 2 + 2) {
    return absl::InvalidArgumentError(
        fmt::format("the body is {} bytes; a call takes at most {} bytes of records", body.size(),
                    kMaxBatchBytes));
  }
  std::vector<std::string_view> records;
  const size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return absl::InvalidArgumentError(kNoRecords);
  if (body[start] == '[') {
    RETURN_IF_ERROR(CheckJsonDepth(body));
    json array = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (array.is_discarded() || !array.is_array()) {
      return absl::InvalidArgumentError(
          "the body starts with '[' but is not a JSON array (or one line of NDJSON)");
    }
    if (array.empty()) return absl::InvalidArgumentError(kNoRecords);  // as an empty NDJSON body
    RETURN_IF_ERROR(CheckBatchLimits(array.size(), body.size()));
    for (const json& element : array)
      storage.push_back(element.dump(-1, ' ', false, json::error_handler_t::replace));
    records.assign(storage.begin(), storage.end());
  } else {
    size_t line_number = 0, bytes = 0;
    for (std::string_view line : Split(body, '\n')) {
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
      if (!IsJsonValue(line)) {
        return absl::InvalidArgumentError(fmt::format(
            "line {} is not JSON (nothing in this call was taken): {}", line_number,
            line.size() > 80 ? std::string(line.substr(0, 80)) + "..." : std::string(line)));
      }
      bytes += line.size();
      records.push_back(line);
      if (records.size() > kMaxBatchRecords) break;
    }
    RETURN_IF_ERROR(CheckBatchLimits(records.size(), bytes));
  }
  return records;
}

json StreamDescriptionToJson(const StreamDescription& stream) {
  json out = StreamConfigToJson(stream.config);
  out["created_at"] = FormatIsoMicros(stream.created_micros);
  out["last_sequence"] = stream.last_sequence;
  out["delivered_through"] = stream.delivered_through;
  out["buffered_bytes"] = stream.buffered_bytes;
  out["records_delivered"] = stream.records_delivered;
  out["records_failed"] = stream.records_failed;
  out["last_failures"] = stream.last_failures;
  if (stream.oldest_buffered_micros > 0)
    out["oldest_buffered_at"] = FormatIsoMicros(stream.oldest_buffered_micros);
  return out;
}

std::string RecordsRouteStream(std::string_view path) {
  constexpr std::string_view kPrefix = "/api/v1/streams/", kSuffix = "/records";
  if (path.size() <= kPrefix.size() + kSuffix.size() || !path.starts_with(kPrefix) ||
      !path.ends_with(kSuffix)) {
    return "";
  }
  const std::string_view name =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  return name.find('/') == std::string_view::npos ? std::string(name) : "";
}

AsyncHttpHandler PutRecordsHandler(IngestService& ingest, const CredentialsKeeper& credentials) {
  HttpApiOptions limits;
  limits.max_body_bytes = kMaxRecordsBodyBytes;
  return GuardAsync(
      credentials, limits,
      [&ingest](const Principal& who, const httplib::Request& request, JsonAnswer answer) {
        auto storage = std::make_shared<std::vector<std::string>>();
        auto decoded_body = std::make_shared<std::string>();
        const std::optional<ContentEncoding> encoding =
            ParseContentEncoding(request.get_header_value("Content-Encoding"));
        if (!encoding) {
          return answer(absl::InvalidArgumentError(fmt::format(
              "Content-Encoding \"{}\" is not supported; send gzip, zstd or no encoding",
              request.get_header_value("Content-Encoding"))));
        }
        std::string_view body = request.body;
        if (*encoding != ContentEncoding::kIdentity) {
          auto decoded = DecompressBounded(request.body, *encoding, kMaxRecordsBodyBytes);
          if (!decoded.ok()) {
            return answer(absl::InvalidArgumentError(fmt::format(
                "the {} body cannot be read: {}", request.get_header_value("Content-Encoding"),
                ToStd(decoded.status().message()))));
          }
          *decoded_body = std::move(*decoded);
          body = *decoded_body;
        }
        auto records = SplitRecordsBody(body, *storage);
        if (!records.ok()) return answer(records.status());
        // The records are views into `request` (valid until answered), `decoded_body` or
        // `storage`.
        ingest.PutAsync(
            who, RecordsRouteStream(request.path), *records,
            [storage, decoded_body, answer](absl::StatusOr<std::vector<PutRecordResult>> results) {
              if (!results.ok()) return answer(results.status());
              answer(PutRecordsAnswer(*results));
            });
      });
}

void RegisterStreamApi(httplib::Server& server, IngestService& ingest, const Guard& guard,
                       AsyncHttpHandler put_records, std::function<std::string()> more_metrics) {
  server.Get("/api/v1/streams", guard([&ingest](const Principal& who, const httplib::Request&,
                                                httplib::Response& response) {
               json list = json::array();
               for (const StreamDescription& stream : ingest.ListStreams(who))
                 list.push_back(StreamDescriptionToJson(stream));
               SendJsonAnswer(response, {{"streams", list}});
               return absl::OkStatus();
             }));

  server.Post("/api/v1/streams",
              guard([&ingest](const Principal& who, const httplib::Request& request,
                              httplib::Response& response) -> absl::Status {
                RETURN_IF_ERROR(CheckJsonDepth(request.body));
                json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
                if (body.is_discarded())
                  return absl::InvalidArgumentError("the body must be a JSON object");
                ASSIGN_OR_RETURN(StreamConfig config, StreamConfigFromJson(body));
                ASSIGN_OR_RETURN(StreamDescription created, ingest.CreateStream(who, config));
                SendJsonAnswer(response, StreamDescriptionToJson(created), 201);
                return absl::OkStatus();
              }));

  server.Get(R"(/api/v1/streams/([^/]+))",
             guard([&ingest](const Principal& who, const httplib::Request& request,
                             httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(StreamDescription stream,
                                ingest.DescribeStream(who, request.matches[1].str()));
               SendJsonAnswer(response, StreamDescriptionToJson(stream));
               return absl::OkStatus();
             }));

  server.Delete(R"(/api/v1/streams/([^/]+))",
                guard([&ingest](const Principal& who, const httplib::Request& request,
                                httplib::Response& response) -> absl::Status {
                  // ?force=true: delete even if its undelivered records cannot be delivered.
                  const bool force = request.get_param_value("force") == "true";
                  RETURN_IF_ERROR(ingest.DeleteStream(who, request.matches[1].str(), force));
                  SendJsonAnswer(response, {{"deleted", request.matches[1].str()}});
                  return absl::OkStatus();
                }));

  server.Post(R"(/api/v1/streams/([^/]+)/records)", WaitForReply(std::move(put_records)));

  server.Post(R"(/api/v1/streams/([^/]+)/flush)",
              guard([&ingest](const Principal& who, const httplib::Request& request,
                              httplib::Response& response) -> absl::Status {
                const std::string name = request.matches[1].str();
                RETURN_IF_ERROR(ingest.Flush(who, name));
                ASSIGN_OR_RETURN(StreamDescription stream, ingest.DescribeStream(who, name));
                SendJsonAnswer(response, StreamDescriptionToJson(stream));
                return absl::OkStatus();
              }));

  server.Get("/metrics",
             guard([&ingest, more_metrics = std::move(more_metrics)](
                       const Principal&, const httplib::Request&, httplib::Response& response) {
               std::string text = ingest.PrometheusMetrics();
               if (more_metrics) text += more_metrics();
               response.set_content(text, "text/plain; version=0.0.4");
               return absl::OkStatus();
             }));
}

}  // namespace loch
