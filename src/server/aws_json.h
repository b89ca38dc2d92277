#pragma once
// AWS JSON 1.1 services on `POST /` (Athena, Firehose), so that unmodified AWS SDKs work with an
// endpoint override. Every request is SigV4-verified against the lake's admin key pair, its body
// parsed as a JSON object, and dispatched by the prefix of its X-Amz-Target header
// ("AmazonAthena.StartQueryExecution", "Firehose_20150804.PutRecordBatch", ...). Errors use the
// AWS shape: {"__type": "<Exception>", "Message": ...} with the service's HTTP status.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
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

// The body of an AWS JSON request, which must be a JSON object nested at most kMaxJsonDepth deep
// (json_depth.h); InvalidArgument otherwise.
absl::StatusOr<nlohmann::json> ParseAwsJsonBody(std::string_view body);

// Readers of the fields of a request body (or of an object in it). A field of the wrong type is
// InvalidArgument naming it: a client's mistake is answered 400, never thrown. Thread-safe.
//
// `field` as a non-empty string; InvalidArgument if it is missing, empty or not a string.
absl::StatusOr<std::string> RequiredString(const nlohmann::json& body, const char* field);
// `field` as a string; `absent` if `body` has no such field.
absl::StatusOr<std::string> OptionalString(const nlohmann::json& body, const char* field,
                                           std::string absent);
// `field` as a whole number within int64_t; `absent` if `body` has no such field. A fraction, a
// number out of range or any other type is InvalidArgument.
absl::StatusOr<int64_t> OptionalInteger(const nlohmann::json& body, const char* field,
                                        int64_t absent);

// Answers `body` with the AWS JSON 1.1 content type.
void SendAwsJson(httplib::Response& response, int status, const nlohmann::json& body);
void SendAwsError(httplib::Response& response, const AwsError& error);

// `POST /` for a set of services: verifies the signature, parses the body and dispatches by target.
class AwsJsonApi {
 public:
  // `credentials` must outlive the API.
  AwsJsonApi(const CredentialsKeeper& credentials, std::vector<AwsJsonService> services);
  // Answers `request` (see http_reply.h: `request` stays valid until `reply` is called).
  void Answer(const httplib::Request& request, HttpReply reply) const;

 private:
  const CredentialsKeeper& credentials_;
  std::vector<AwsJsonService> services_;
};

// Registers `POST /` for `api` (which must outlive the server).
void RegisterAwsJsonApi(httplib::Server& server, const AwsJsonApi& api);

}  // namespace loch
