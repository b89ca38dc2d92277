#include "server/aws_json.h"

#include <httplib.h>

#include <ctime>

#include "common/strings.h"
#include "fmt/format.h"
#include "server/sigv4.h"

namespace loch {

void SendAwsJson(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                       "application/x-amz-json-1.1");
}

void SendAwsError(httplib::Response& response, const AwsError& error) {
  SendAwsJson(response, error.status,
              {{"__type", error.type}, {"Message", error.message}, {"message", error.message}});
}

void RegisterAwsJsonApis(httplib::Server& server, const AdminCredentials& credentials,
                         std::vector<AwsJsonService> services) {
  server.Post("/", [&credentials, services = std::move(services)](const httplib::Request& request,
                                                                  httplib::Response& response) {
    const std::string target = request.get_header_value("X-Amz-Target");
    const AwsJsonService* service = nullptr;
    for (const AwsJsonService& candidate : services) {
      if (target.starts_with(candidate.target_prefix)) service = &candidate;
    }
    if (service == nullptr) {
      std::vector<std::string> known;
      for (const AwsJsonService& candidate : services) known.push_back(candidate.target_prefix);
      return SendAwsError(
          response, {400, "UnknownOperationException",
                     fmt::format("X-Amz-Target \"{}\" names no operation of this server ({}*)",
                                 target, Join(known, "*, "))});
    }
    SignedRequest signed_request{request.method, request.path, {}, {}, request.body};
    for (const auto& [name, value] : request.params) signed_request.query.emplace(name, value);
    for (const auto& [name, value] : request.headers) signed_request.headers.emplace(name, value);
    auto identity = VerifySigV4(
        signed_request,
        [&credentials](const std::string& key) {
          return SecretsEqual(key, credentials.access_key_id) ? credentials.secret_access_key
                                                              : std::string();
        },
        static_cast<int64_t>(std::time(nullptr)));
    if (!identity.ok()) return SendAwsError(response, service->error_for(identity.status()));
    nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return SendAwsError(
          response,
          service->error_for(absl::InvalidArgumentError("the request body must be a JSON object")));
    }
    const std::string action = target.substr(service->target_prefix.size());
    absl::Status status = service->handle(Principal::LocalAdmin(), action, body, response);
    if (absl::IsUnimplemented(status)) {
      return SendAwsError(response,
                          {400, "UnknownOperationException", std::string(ToStd(status.message()))});
    }
    if (!status.ok()) SendAwsError(response, service->error_for(status));
  });
}

}  // namespace loch
