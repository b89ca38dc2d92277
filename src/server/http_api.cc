#include "server/http_api.h"

#include <httplib.h>

#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "server/http_status.h"
#include "server/json_depth.h"

namespace loch {
namespace {

using nlohmann::json;

void SendError(httplib::Response& response, const absl::Status& status) {
  response.status = HttpStatusFor(status.code());
  if (absl::IsUnavailable(status)) response.set_header("Retry-After", "1");  // backpressure
  response.set_content(ErrorJson(status), "application/json");
}

void SendJson(httplib::Response& response, const json& body, int status = 200) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                       "application/json");
}

absl::StatusOr<std::string> SqlFromBody(const httplib::Request& request, json* body_out = nullptr) {
  RETURN_IF_ERROR(CheckJsonDepth(request.body));
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return absl::InvalidArgumentError(
        "the request body must be a JSON object like {\"sql\": \"SELECT ...\"}");
  }
  if (!body.contains("sql") || !body["sql"].is_string() || body["sql"].get<std::string>().empty()) {
    return absl::InvalidArgumentError("the request body needs a non-empty string field \"sql\"");
  }
  if (body_out != nullptr) *body_out = body;
  return body["sql"].get<std::string>();
}

// The "workgroup" field of a request body, "primary" if absent.
absl::StatusOr<std::string> WorkgroupFromBody(const json& body) {
  if (!body.contains("workgroup")) return std::string(WorkgroupConfig::kPrimary);
  if (!body["workgroup"].is_string() || body["workgroup"].get<std::string>().empty()) {
    return absl::InvalidArgumentError("\"workgroup\" must be a non-empty string");
  }
  return body["workgroup"].get<std::string>();
}

json InfoJson(const QueryInfo& info) {
  json out = {{"id", info.id},
              {"state", QueryStateName(info.state)},
              {"sql", info.sql},
              {"principal", info.principal},
              {"front_end", info.front_end},
              {"workgroup", info.workgroup},
              {"bytes_scanned", info.bytes_scanned},
              {"submitted_at", FormatIsoMicros(info.submitted_micros)},
              {"rows", info.row_count},
              {"truncated", info.truncated}};
  if (info.started_micros > 0) {
    out["started_at"] = FormatIsoMicros(info.started_micros);
    out["queued_ms"] = (info.started_micros - info.submitted_micros) / 1000.0;
  }
  if (info.finished_micros > 0) {
    out["finished_at"] = FormatIsoMicros(info.finished_micros);
    out["elapsed_ms"] = (info.finished_micros - info.submitted_micros) / 1000.0;
  }
  if (!info.result_key.empty()) out["result_key"] = info.result_key;
  if (!info.error.ok()) {
    out["error"] = {{"code", absl::StatusCodeToString(info.error.code())},
                    {"message", ToStd(info.error.message())}};
  }
  return out;
}

// A page's columns and next offset; its rows go in with SendJsonWithRows (RowsJson).
json PageHead(const ResultPage& page) {
  json columns = json::array();
  for (const ResultColumn& column : page.columns)
    columns.push_back({{"name", column.name}, {"type", column.type}});
  json out = {{"columns", columns}};
  out["next_offset"] = page.next_offset.has_value() ? json(*page.next_offset) : json(nullptr);
  return out;
}

std::string PageRowsJson(const ResultPage& page) {
  std::string rows = "[";
  for (size_t r = 0; r < page.rows.size(); ++r) {
    rows += r ? ",[" : "[";
    for (size_t c = 0; c < page.rows[r].size(); ++c) {
      if (c) rows += ",";
      rows += CellToJson(page.rows[r][c], page.columns[c].kind);
    }
    rows += "]";
  }
  return rows + "]";
}

std::string PageCsv(const ResultPage& page) {
  std::string out;
  for (size_t c = 0; c < page.columns.size(); ++c)
    out += (c ? "," : "") + CellToCsv(page.columns[c].name);
  out += "\n";
  for (const auto& row : page.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) out += ",";
      out += CellToCsv(row[c]);
    }
    out += "\n";
  }
  return out;
}

absl::StatusOr<size_t> SizeParam(const httplib::Request& request, const char* name, size_t fallback,
                                 size_t max) {
  if (!request.has_param(name)) return fallback;
  const std::string text = request.get_param_value(name);
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value > max) {
    return absl::InvalidArgumentError(
        fmt::format("parameter {}={} must be a number from 0 to {}", name, text, max));
  }
  return static_cast<size_t>(value);
}

}  // namespace

json WorkgroupToJson(const WorkgroupConfig& workgroup) {
  return {{"name", workgroup.name},
          {"description", workgroup.description},
          {"timeout_seconds", workgroup.timeout_ms / 1000.0},
          {"max_concurrent", workgroup.max_concurrent},
          {"max_bytes_scanned", workgroup.max_bytes_scanned},
          {"failure_webhook", workgroup.failure_webhook}};
}

absl::StatusOr<WorkgroupConfig> WorkgroupFromJson(const std::string& name, const json& body) {
  if (!body.is_object()) {
    return absl::InvalidArgumentError(
        "a workgroup must be a JSON object like {\"max_concurrent\": 2}");
  }
  WorkgroupConfig workgroup = WorkgroupConfig::Named(name);
  auto number = [&](const char* field, double& out) -> absl::Status {
    if (!body.contains(field)) return absl::OkStatus();
    if (!body[field].is_number() || body[field].get<double>() < 0) {
      return absl::InvalidArgumentError(fmt::format("\"{}\" must be a number >= 0", field));
    }
    out = body[field].get<double>();
    return absl::OkStatus();
  };
  double timeout = 0, concurrent = 0, bytes = 0;
  RETURN_IF_ERROR(number("timeout_seconds", timeout));
  RETURN_IF_ERROR(number("max_concurrent", concurrent));
  RETURN_IF_ERROR(number("max_bytes_scanned", bytes));
  for (const char* field : {"description", "failure_webhook"}) {
    if (body.contains(field) && !body[field].is_string()) {
      return absl::InvalidArgumentError(fmt::format("\"{}\" must be a string", field));
    }
  }
  workgroup.timeout_ms = static_cast<int64_t>(timeout * 1000);
  workgroup.max_concurrent = static_cast<int>(concurrent);
  workgroup.max_bytes_scanned = static_cast<int64_t>(bytes);
  workgroup.description = body.value("description", "");
  workgroup.failure_webhook = body.value("failure_webhook", "");
  return workgroup;
}

namespace {

// The session a console request carries, if it is live; a request that may change something
// (any method but GET and HEAD) must also carry the session's CSRF token.
absl::StatusOr<Principal> AuthenticateSession(const httplib::Request& request,
                                              std::string_view session_id,
                                              const CredentialsKeeper& credentials) {
  const std::optional<ConsoleSession> session = credentials.FindSession(session_id);
  if (!session) {
    return absl::UnauthenticatedError("the console session has ended: sign in again");
  }
  if (request.method != "GET" && request.method != "HEAD" &&
      !SecretsEqual(request.get_header_value(std::string(kCsrfHeader).c_str()),
                    session->csrf_token)) {
    return absl::PermissionDeniedError(
        fmt::format("a console request that changes something must carry the session's {} header",
                    kCsrfHeader));
  }
  return session->principal;
}

// Who sends `request`, if it is within the body limit and authenticated; otherwise answers it
// (413, 401, 403) in `refusal`.
std::optional<Principal> Admit(const httplib::Request& request,
                               const CredentialsKeeper& credentials, const HttpApiOptions& options,
                               httplib::Response& refusal) {
  if (request.body.size() > options.max_body_bytes) {
    refusal.status = 413;
    refusal.set_content(ErrorJson(absl::InvalidArgumentError(
                            fmt::format("the request body is {} bytes; the limit is {}",
                                        request.body.size(), options.max_body_bytes))),
                        "application/json");
    return std::nullopt;
  }
  auto who = Authenticate(request, credentials);
  if (!who.ok()) {
    SendError(refusal, who.status());
    return std::nullopt;
  }
  return *who;
}

}  // namespace

// Who is asking, from `Authorization: Bearer <token>` or the console's session cookie.
absl::StatusOr<Principal> Authenticate(const httplib::Request& request,
                                       const CredentialsKeeper& credentials) {
  const std::string header = request.get_header_value("Authorization");
  if (header.empty()) {
    if (std::optional<std::string> session =
            CookieValue(request.get_header_value("Cookie"), kConsoleSessionCookie)) {
      return AuthenticateSession(request, *session, credentials);
    }
    return absl::UnauthenticatedError(
        "missing credentials: send `Authorization: Bearer <token>` (the token is in "
        "<state>/admin-credentials.json)");
  }
  if (!header.starts_with("Bearer ")) {
    return absl::UnauthenticatedError("the Authorization header must be `Bearer <token>`");
  }
  if (!credentials.TokenValid(std::string_view(header).substr(7))) {
    return absl::PermissionDeniedError("the bearer token is not valid for this lake");
  }
  return Principal::LocalAdmin();
}

Guard MakeGuard(const CredentialsKeeper& credentials, const HttpApiOptions& options) {
  return [&credentials, options](GuardedHandler handler) {
    return [&credentials, options, handler](const httplib::Request& request,
                                            httplib::Response& response) {
      const std::optional<Principal> who = Admit(request, credentials, options, response);
      if (!who) return;
      absl::Status status = handler(*who, request, response);
      if (!status.ok()) SendError(response, status);
    };
  };
}

AsyncHttpHandler GuardAsync(const CredentialsKeeper& credentials, const HttpApiOptions& options,
                            AsyncGuardedHandler handler) {
  return [&credentials, options, handler = std::move(handler)](const httplib::Request& request,
                                                               HttpReply reply) {
    httplib::Response refusal;
    const std::optional<Principal> who = Admit(request, credentials, options, refusal);
    if (!who) return reply(std::move(refusal));
    handler(*who, request, [reply = std::move(reply)](absl::StatusOr<json> answer) {
      httplib::Response response;
      if (answer.ok()) {
        SendJson(response, *answer);
      } else {
        SendError(response, answer.status());
      }
      reply(std::move(response));
    });
  };
}

void SendJsonAnswer(httplib::Response& response, const nlohmann::json& body, int status) {
  SendJson(response, body, status);
}

void SendJsonWithRows(httplib::Response& response, const nlohmann::json& head,
                      std::string_view rows_json, int status) {
  std::string body = head.dump(-1, ' ', false, json::error_handler_t::replace);
  body.pop_back();  // the object's closing brace
  if (body.size() > 1) body += ",";
  body.append("\"rows\":").append(rows_json).append("}");
  response.status = status;
  response.set_content(std::move(body), "application/json");
}

void RegisterHttpApi(httplib::Server& server, QueryService& queries, Catalog& catalog,
                     const CredentialsKeeper& credentials, const HttpApiOptions& options) {
  const Guard guarded = MakeGuard(credentials, options);

  server.Get("/health", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });

  server.Post("/api/v1/queries",
              guarded([&queries](const Principal& who, const httplib::Request& request,
                                 httplib::Response& response) -> absl::Status {
                json body;
                ASSIGN_OR_RETURN(std::string sql, SqlFromBody(request, &body));
                ASSIGN_OR_RETURN(std::string workgroup, WorkgroupFromBody(body));
                ASSIGN_OR_RETURN(std::string id, queries.Submit(who, std::move(sql), workgroup));
                ASSIGN_OR_RETURN(QueryInfo info, queries.Describe(id));
                SendJson(response, InfoJson(info), 201);
                return absl::OkStatus();
              }));

  server.Get("/api/v1/queries",
             guarded([&queries](const Principal&, const httplib::Request& request,
                                httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(size_t limit, SizeParam(request, "limit", 100, 1000));
               json list = json::array();
               const std::string workgroup =
                   request.has_param("workgroup") ? request.get_param_value("workgroup") : "";
               for (const QueryInfo& info : queries.List(limit, workgroup)) {
                 list.push_back(InfoJson(info));
               }
               SendJson(response, {{"queries", list}});
               return absl::OkStatus();
             }));

  server.Get(R"(/api/v1/queries/([^/]+))",
             guarded([&queries](const Principal&, const httplib::Request& request,
                                httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(QueryInfo info, queries.Describe(request.matches[1]));
               SendJson(response, InfoJson(info));
               return absl::OkStatus();
             }));

  server.Get(
      R"(/api/v1/queries/([^/]+)/results)",
      guarded([&queries, options](const Principal&, const httplib::Request& request,
                                  httplib::Response& response) -> absl::Status {
        ASSIGN_OR_RETURN(size_t offset, SizeParam(request, "offset", 0, SIZE_MAX / 2));
        ASSIGN_OR_RETURN(size_t limit, SizeParam(request, "limit", 1000, options.max_page_rows));
        const std::string format =
            request.has_param("format") ? request.get_param_value("format") : "json";
        if (format != "json" && format != "csv") {
          return absl::InvalidArgumentError(fmt::format("format={} is not json or csv", format));
        }
        ASSIGN_OR_RETURN(ResultPage page, queries.Results(request.matches[1], offset, limit));
        if (format == "csv") {
          response.set_content(PageCsv(page), "text/csv");
        } else {
          SendJsonWithRows(response, PageHead(page), PageRowsJson(page));
        }
        return absl::OkStatus();
      }));

  server.Delete(R"(/api/v1/queries/([^/]+))",
                guarded([&queries](const Principal&, const httplib::Request& request,
                                   httplib::Response& response) -> absl::Status {
                  ASSIGN_OR_RETURN(QueryInfo info, queries.Cancel(request.matches[1]));
                  SendJson(response, InfoJson(info));
                  return absl::OkStatus();
                }));

  server.Post(
      "/api/v1/query",
      guarded([&queries, options](const Principal& who, const httplib::Request& request,
                                  httplib::Response& response) -> absl::Status {
        json body;
        ASSIGN_OR_RETURN(std::string sql, SqlFromBody(request, &body));
        const double timeout = body.value("timeout_seconds", 60.0);
        if (!(timeout > 0 && timeout <= 3600)) {
          return absl::InvalidArgumentError("timeout_seconds must be between 0 and 3600");
        }
        ASSIGN_OR_RETURN(std::string workgroup, WorkgroupFromBody(body));
        ASSIGN_OR_RETURN(std::string id, queries.Submit(who, std::move(sql), workgroup));
        ASSIGN_OR_RETURN(
            QueryInfo info,
            queries.Wait(id, std::chrono::steady_clock::now() +
                                 std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000))));
        if (info.state == QueryState::kQueued || info.state == QueryState::kRunning) {
          queries.Cancel(id).IgnoreError();
          return absl::DeadlineExceededError(fmt::format(
              "query {} did not finish within {} s; use POST /api/v1/queries for long queries", id,
              timeout));
        }
        if (info.state != QueryState::kSucceeded) return info.error;
        ASSIGN_OR_RETURN(ResultPage page, queries.Results(id, 0, options.max_page_rows));
        json out = PageHead(page);
        out["query"] = InfoJson(info);
        SendJsonWithRows(response, out, PageRowsJson(page));
        return absl::OkStatus();
      }));

  server.Get("/api/v1/workgroups", guarded([&catalog](const Principal& who, const httplib::Request&,
                                                      httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(std::vector<WorkgroupConfig> all, catalog.ListWorkgroups(who));
               json list = json::array();
               for (const WorkgroupConfig& workgroup : all)
                 list.push_back(WorkgroupToJson(workgroup));
               SendJson(response, {{"workgroups", list}});
               return absl::OkStatus();
             }));
  server.Get(R"(/api/v1/workgroups/([^/]+))",
             guarded([&catalog](const Principal& who, const httplib::Request& request,
                                httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(WorkgroupConfig workgroup,
                                catalog.GetWorkgroup(who, request.matches[1].str()));
               SendJson(response, WorkgroupToJson(workgroup));
               return absl::OkStatus();
             }));
  server.Put(R"(/api/v1/workgroups/([^/]+))",
             guarded([&catalog](const Principal& who, const httplib::Request& request,
                                httplib::Response& response) -> absl::Status {
               RETURN_IF_ERROR(CheckJsonDepth(request.body));
               const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
               ASSIGN_OR_RETURN(WorkgroupConfig workgroup,
                                WorkgroupFromJson(request.matches[1].str(), body));
               RETURN_IF_ERROR(catalog.PutWorkgroup(who, workgroup));
               SendJson(response, WorkgroupToJson(workgroup));
               return absl::OkStatus();
             }));
  server.Delete(R"(/api/v1/workgroups/([^/]+))",
                guarded([&catalog](const Principal& who, const httplib::Request& request,
                                   httplib::Response& response) -> absl::Status {
                  RETURN_IF_ERROR(catalog.DeleteWorkgroup(who, request.matches[1].str()));
                  response.status = 204;
                  return absl::OkStatus();
                }));
}

}  // namespace loch
