#pragma once
// AWS JSON 1.1 services on `POST /` (Athena, Firehose), so that unmodified AWS SDKs work with an
// endpoint override. Every request is SigV4-verified against the lake's admin key pair, its body
// parsed as a JSON object, and dispatched by the prefix of its X-Amz-Target header
// ("AmazonAthena.StartQueryExecution", "Firehose_20150804.PutRecordBatch", ...). Errors use the
// AWS shape: {"__type": "<Exception>", "Message": ...} with the service's HTTP status.

#include <functional>
#include <string>
#include <vector>

#include "common/principal.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "server/admin_credentials.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace loch {

struct AwsError {
  int status;
  std::string type;  // e.g. "InvalidArgumentException"
  std::string message;
};

struct AwsJsonService {
  std::string target_prefix;  // e.g. "Firehose_20150804."
  // Handles `action` (the target after the prefix) and answers through `response`; an error
  // status it returns is answered as `error_for(status)`. Unimplemented: an unknown action.
  std::function<absl::Status(const Principal& who, const std::string& action,
                             const nlohmann::json& body, httplib::Response& response)>
      handle;
  std::function<AwsError(const absl::Status&)> error_for;
};

// Answers `body` with the AWS JSON 1.1 content type.
void SendAwsJson(httplib::Response& response, int status, const nlohmann::json& body);
void SendAwsError(httplib::Response& response, const AwsError& error);

// Registers `POST /` for `services`. `credentials` must outlive the server.
void RegisterAwsJsonApis(httplib::Server& server, const AdminCredentials& credentials,
                         std::vector<AwsJsonService> services);

}  // namespace loch
