// The request bodies of the records route and of the Firehose and Athena APIs, read into requests
// as their handlers read them (behind authentication, but any holder of the key is a client). The
// input's first line names the parser: "records" (POST /api/v1/streams/{name}/records,
// stream_api.h) or an X-Amz-Target ("Firehose_20150804.PutRecordBatch",
// "AmazonAthena.GetQueryResults", ...; aws_json.h, firehose_api.h, athena_api.h); the rest is the
// body. The records handed to a stream must be JSON within the batch limits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/json_check.h"
#include "server/athena_api.h"
#include "server/aws_json.h"
#include "server/firehose_api.h"
#include "server/stream_api.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

void ParseRecordsBody(std::string_view body) {
  std::vector<std::string> storage;
  absl::StatusOr<std::vector<std::string_view>> records = loch::SplitRecordsBody(body, storage);
  if (!records.ok()) return;
  if (records->empty() || records->size() > loch::kMaxBatchRecords) Fail("a batch out of limits");
  for (const std::string_view record : *records) {
    if (!loch::IsJsonValue(record)) Fail("a record that is not JSON was accepted");
  }
}

void ParseFirehoseBody(const std::string& action, const nlohmann::json& body) {
  absl::StatusOr<loch::FirehoseRequest> request = loch::ParseFirehoseRequest(action, body);
  if (!request.ok() || !loch::IsFirehosePut(action)) return;
  if (request->records.empty() || request->records.size() > loch::kMaxBatchRecords)
    Fail("a Firehose batch out of limits");
}

void ParseAthenaBody(const std::string& action, const nlohmann::json& body) {
  (void)loch::ParseAthenaRequest(action, body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view target = input.substr(0, newline);
  const std::string_view body = input.substr(newline + 1);
  if (target == "records") {
    ParseRecordsBody(body);
    return 0;
  }
  constexpr std::string_view kFirehose = "Firehose_20150804.", kAthena = "AmazonAthena.";
  const bool firehose = target.starts_with(kFirehose);
  if (!firehose && !target.starts_with(kAthena)) return 0;
  absl::StatusOr<nlohmann::json> json = loch::ParseAwsJsonBody(body);
  if (!json.ok()) return 0;
  if (firehose) {
    ParseFirehoseBody(std::string(target.substr(kFirehose.size())), *json);
  } else {
    ParseAthenaBody(std::string(target.substr(kAthena.size())), *json);
  }
  return 0;
}
