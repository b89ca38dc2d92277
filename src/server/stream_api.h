#pragma once
// Delivery streams over loch's native HTTP API (same Bearer authentication as the rest):
//
// clang-format off
//   GET    /api/v1/streams                every stream with its delivery progress
//   POST   /api/v1/streams                {"name", "buffer_bytes", "buffer_seconds", "compression",
//                                          "validate_json", "partition_by": [...],
//                                          "max_open_partitions", "error_prefix"} -> 201
//   GET    /api/v1/streams/{name}         its configuration and progress
//   DELETE /api/v1/streams/{name}         delivers what it holds, then deletes it (its table stays)
//   POST   /api/v1/streams/{name}/records NDJSON (one JSON value per line) or a JSON array body;
//                                          at most 500 records and 4 MiB. Every record must be
//                                          JSON, else nothing is taken (400 names the line).
//                                          Content-Encoding gzip or zstd bodies are decompressed
//                                          (at most 8 MiB; others: 400).
//                                          -> {"accepted", "failed", "records": [{"record_id"} |
//                                          {"error"}]} once the accepted ones are durable.
//   POST   /api/v1/streams/{name}/flush   delivers now; answers once it is in the table
//   GET    /metrics                       Prometheus text format
// clang-format on
// Backpressure answers 503 with Retry-After.

#include <string>
#include <string_view>
#include <vector>

#include "ingest/ingest_service.h"
#include "server/http_api.h"

namespace loch {

// Firehose's batch limits, which the native API shares.
inline constexpr size_t kMaxBatchRecords = 500;
inline constexpr size_t kMaxBatchBytes = 4 << 20;
// The largest records body: room for NDJSON's newlines and a JSON array's brackets and commas. A
// compressed body (Content-Encoding gzip or zstd) may decompress to at most this much too.
inline constexpr size_t kMaxRecordsBodyBytes = 2 * kMaxBatchBytes;

// The records of a native records body: the non-blank lines of NDJSON (views into `body`), or a
// JSON array's elements (compact JSON each, kept in `storage`). InvalidArgument names the first
// line that is not JSON, or a body without records, over the batch limits or nested too deeply
// (json_depth.h).
absl::StatusOr<std::vector<std::string_view>> SplitRecordsBody(std::string_view body,
                                                               std::vector<std::string>& storage);

nlohmann::json StreamDescriptionToJson(const StreamDescription& stream);

// POST /api/v1/streams/{name}/records, answered once the accepted records are durable (see
// http_reply.h), with its own body limit (a batch's). `ingest` and `credentials` must outlive it.
AsyncHttpHandler PutRecordsHandler(IngestService& ingest, const CredentialsKeeper& credentials);
// The stream named by a records route's path ("/api/v1/streams/{name}/records"); empty if `path`
// is not one.
std::string RecordsRouteStream(std::string_view path);

// Registers the routes; the records route runs `put_records` (PutRecordsHandler). `ingest` must
// outlive the server. /metrics also shows what `more_metrics` returns (Prometheus text), if set.
void RegisterStreamApi(httplib::Server& server, IngestService& ingest, const Guard& guard,
                       AsyncHttpHandler put_records,
                       std::function<std::string()> more_metrics = nullptr);

}  // namespace loch
