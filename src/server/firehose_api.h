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

#include "ingest/ingest_service.h"
#include "server/aws_json.h"

namespace loch {

// `ingest` must outlive the server.
AwsJsonService FirehoseService(IngestService& ingest);
// Whether `action` (an X-Amz-Target after "Firehose_20150804.") puts records: those are answered
// without blocking (they wait for their fsync, not for a thread).
bool IsFirehosePut(std::string_view action);

// Strict standard base64 (with padding); InvalidArgument otherwise.
absl::StatusOr<std::string> DecodeBase64(std::string_view text);

}  // namespace loch
