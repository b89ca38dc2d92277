#include "server/aws_json.h"

#include <httplib.h>

#include <ctime>
#include <limits>

#include "common/strings.h"
#include "fmt/format.h"
#include "server/json_depth.h"
#include "server/sigv4.h"

namespace loch {

absl::StatusOr<nlohmann::json> ParseAwsJsonBody(std::string_view body) {
  RETURN_IF_ERROR(CheckJsonDepth(body));
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("the request body must be a JSON object");
  }
  return parsed;
}

absl::StatusOr<std::string> RequiredString(const nlohmann::json& body, const char* field) {
  if (!body.contains(field) || !body[field].is_string() || body[field].get<std::string>().empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{} is required and must be a non-empty string", field));
  }
  return body[field].get<std::string>();
}

absl::StatusOr<std::string> OptionalString(const nlohmann::json& body, const char* field,
                                           std::string absent) {
  if (!body.contains(field)) return absent;
  if (!body[field].is_string()) {
    return absl::InvalidArgumentError(fmt::format("{} must be a string", field));
  }
  return body[field].get<std::string>();
}

absl::StatusOr<int64_t> OptionalInteger(const nlohmann::json& body, const char* field,
                                        int64_t absent) {
  if (!body.contains(field)) return absent;
  const nlohmann::json& value = body[field];
  // Checked before get<>, which would convert a fraction or an out-of-range number unchecked.
  if (!value.is_number_integer() ||
      (value.is_number_unsigned() &&
       value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
    return absl::InvalidArgumentError(fmt::format("{} must be a whole number", field));
  }
  return value.get<int64_t>();
}

void SendAwsJson(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                       "application/x-amz-json-1.1");
}

void SendAwsError(httplib::Response& response, const AwsError& error) {
  SendAwsJson(response, error.status,
              {{"__type", error.type}, {"Message", error.message}, {"message", error.message}});
}

AwsJsonApi::AwsJsonApi(const CredentialsKeeper& credentials, std::vector<AwsJsonService> services)
    : credentials_(credentials), services_(std::move(services)) {}

void AwsJsonApi::Answer(const httplib::Request& request, HttpReply reply) const {
  auto fail = [&reply](const AwsError& error) {
    httplib::Response response;
    SendAwsError(response, error);
    reply(std::move(response));
  };
  const std::string target = request.get_header_value("X-Amz-Target");
  const AwsJsonService* service = nullptr;
  for (const AwsJsonService& candidate : services_) {
    if (target.starts_with(candidate.target_prefix)) service = &candidate;
  }
  if (service == nullptr) {
    std::vector<std::string> known;
    for (const AwsJsonService& candidate : services_) known.push_back(candidate.target_prefix);
    return fail({400, "UnknownOperationException",
                 fmt::format("X-Amz-Target \"{}\" names no operation of this server ({}*)", target,
                             Join(known, "*, "))});
  }
  // The path as sent (still percent-encoded), which is what the client signed.
  const std::string sent_path =
      request.target.empty() ? request.path : request.target.substr(0, request.target.find('?'));
  SignedRequest signed_request{request.method, sent_path, {}, {}, request.body};
  for (const auto& [name, value] : request.params) signed_request.query.emplace(name, value);
  for (const auto& [name, value] : request.headers) signed_request.headers.emplace(name, value);
  auto identity = VerifySigV4(
      signed_request,
      [this](const std::string& key) { return credentials_.SecretOf(key).value_or(""); },
      static_cast<int64_t>(std::time(nullptr)));
  if (!identity.ok()) return fail(service->error_for(identity.status()));
  absl::StatusOr<nlohmann::json> body = ParseAwsJsonBody(request.body);
  if (!body.ok()) return fail(service->error_for(body.status()));
  service->handle(Principal::LocalAdmin(), target.substr(service->target_prefix.size()), *body,
                  [service, reply = std::move(reply)](absl::StatusOr<nlohmann::json> answer) {
                    httplib::Response response;
                    if (answer.ok()) {
                      SendAwsJson(response, 200, *answer);
                    } else if (absl::IsUnimplemented(answer.status())) {
                      SendAwsError(response, {400, "UnknownOperationException",
                                              std::string(ToStd(answer.status().message()))});
                    } else {
                      SendAwsError(response, service->error_for(answer.status()));
                    }
                    reply(std::move(response));
                  });
}

void RegisterAwsJsonApi(httplib::Server& server, const AwsJsonApi& api) {
  server.Post("/", WaitForReply([&api](const httplib::Request& request, HttpReply reply) {
                api.Answer(request, std::move(reply));
              }));
}

}  // namespace loch
