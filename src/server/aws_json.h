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
#include "server/http_reply.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace loch {

struct AwsError {
  int status;
  std::string type;  // e.g. "InvalidArgumentException"
  std::string message;
};

// The answer to one AWS JSON request: the body of a 200 response, or an error status (answered as
// the service's error_for(status)). Call it exactly once, from any thread.
using AwsAnswer = std::function<void(absl::StatusOr<nlohmann::json>)>;

struct AwsJsonService {
  std::string target_prefix;  // e.g. "Firehose_20150804."
  // Handles `action` (the target after the prefix) and answers through `answer`, now or later.
  // Unimplemented: an unknown action.
  std::function<void(const Principal& who, const std::string& action, const nlohmann::json& body,
                     const AwsAnswer& answer)>
      handle;
  std::function<AwsError(const absl::Status&)> error_for;
};

// Answers `body` with the AWS JSON 1.1 content type.
void SendAwsJson(httplib::Response& response, int status, const nlohmann::json& body);
void SendAwsError(httplib::Response& response, const AwsError& error);

// `POST /` for a set of services: verifies the signature, parses the body and dispatches by target.
class AwsJsonApi {
 public:
  // `credentials` must outlive the API.
  AwsJsonApi(const AdminCredentials& credentials, std::vector<AwsJsonService> services);
  // Answers `request` (see http_reply.h: `request` stays valid until `reply` is called).
  void Answer(const httplib::Request& request, HttpReply reply) const;

 private:
  const AdminCredentials& credentials_;
  std::vector<AwsJsonService> services_;
};

// Registers `POST /` for `api` (which must outlive the server).
void RegisterAwsJsonApi(httplib::Server& server, const AwsJsonApi& api);

}  // namespace loch
