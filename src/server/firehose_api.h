#pragma once
// The Amazon Data Firehose API (JSON 1.1 protocol, served through aws_json.h), so that unmodified
// Firehose clients and SDKs deliver into loch with an endpoint override.
//
// Operations (X-Amz-Target: Firehose_20150804.<Action>): CreateDeliveryStream (DirectPut;
// BufferingHints, CompressionFormat UNCOMPRESSED|GZIP|ZSTD, ErrorOutputPrefix of an S3 or
// ExtendedS3 destination), DescribeDeliveryStream, ListDeliveryStreams, DeleteDeliveryStream,
// PutRecord and PutRecordBatch (base64 `Data`).
// Limits, with Firehose's semantics: a batch of more than 500 records or 4 MiB of data fails as a
// whole (InvalidArgumentException); a record over 1,000 KiB fails on its own in the per-record
// results (PutRecord: the call fails). Backpressure is 503 ServiceUnavailableException, which AWS
// SDKs retry. Unknown streams are ResourceNotFoundException, existing names
// ResourceInUseException.

#include <string>
#include <string_view>
#include <vector>

#include "ingest/ingest_service.h"
#include "server/aws_json.h"

namespace loch {

// One Firehose request as read from its JSON body: the fields its action uses are set, the others
// keep their defaults.
struct FirehoseRequest {
  std::string action;                // e.g. "PutRecordBatch"
  std::string stream;                // DeliveryStreamName: every action but ListDeliveryStreams
  StreamConfig config;               // CreateDeliveryStream, validated
  std::vector<std::string> records;  // PutRecord, PutRecordBatch: each record's decoded Data
  int64_t limit = 10000;             // ListDeliveryStreams: 1 to 10000
  std::string after;                 // ListDeliveryStreams: ExclusiveStartDeliveryStreamName
  bool force = false;                // DeleteDeliveryStream: AllowForceDelete
};

// Reads `body` (the request's JSON object) as a request of `action`, with Firehose's limits.
// InvalidArgument names the field that is missing, of the wrong type or out of range;
// Unimplemented for an unknown action. Thread-safe.
absl::StatusOr<FirehoseRequest> ParseFirehoseRequest(const std::string& action,
                                                     const nlohmann::json& body);

// `ingest` must outlive the server.
AwsJsonService FirehoseService(IngestService& ingest);
// Whether `action` (an X-Amz-Target after "Firehose_20150804.") puts records: those are answered
// without blocking (they wait for their fsync, not for a thread).
bool IsFirehosePut(std::string_view action);

// Strict standard base64 (with padding); InvalidArgument otherwise.
absl::StatusOr<std::string> DecodeBase64(std::string_view text);

}  // namespace loch
