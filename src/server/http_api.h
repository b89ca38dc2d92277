#pragma once
// loch's HTTP API (native REST, JSON). Every /api/ route needs `Authorization: Bearer <token>`.
//
// clang-format off
//   GET    /health                        "ok" (no authentication)
//   POST   /api/v1/queries                {"sql": "...", "workgroup": "primary"} -> {"id", "state", ...}
//   GET    /api/v1/queries                recent queries, newest first (?limit=N&workgroup=W)
//   GET    /api/v1/queries/{id}           state, timings, rows, bytes scanned, error
//   GET    /api/v1/queries/{id}/results   ?format=json|csv&offset=N&limit=N
//   DELETE /api/v1/queries/{id}           cancel
//   POST   /api/v1/query                  {"sql", "workgroup", "timeout_seconds": 60} -> the result
//   GET    /api/v1/workgroups             every workgroup with its limits
//   GET    /api/v1/workgroups/{name}      one workgroup
//   PUT    /api/v1/workgroups/{name}      {"description", "timeout_seconds", "max_concurrent",
//                                          "max_bytes_scanned", "failure_webhook"} (create/replace)
//   DELETE /api/v1/workgroups/{name}      (not "primary")
// clang-format on

#include <functional>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"
#include "query/query_service.h"
#include "server/admin_credentials.h"
#include "server/http_reply.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace loch {

struct HttpApiOptions {
  size_t max_body_bytes = 1 << 20;  // larger request bodies get 413
  size_t max_page_rows = 10000;     // results page size limit
};

// Wraps a route handler: authentication (Bearer token), the body size limit (413), and any error
// it returns as a JSON answer with the fitting HTTP status. `credentials` must outlive the server.
using GuardedHandler =
    std::function<absl::Status(const Principal&, const httplib::Request&, httplib::Response&)>;
using Guard =
    std::function<std::function<void(const httplib::Request&, httplib::Response&)>(GuardedHandler)>;
Guard MakeGuard(const CredentialsKeeper& credentials, const HttpApiOptions& options = {});

// Who sent `request` (its `Authorization: Bearer` token): Unauthenticated without one,
// PermissionDenied for a token that is not valid.
absl::StatusOr<Principal> Authenticate(const httplib::Request& request,
                                       const CredentialsKeeper& credentials);

// The same for a handler that answers later (see http_reply.h): `answer` gets the body of a 200
// JSON response or an error status, exactly once, from any thread.
using JsonAnswer = std::function<void(absl::StatusOr<nlohmann::json>)>;
using AsyncGuardedHandler =
    std::function<void(const Principal&, const httplib::Request&, JsonAnswer answer)>;
AsyncHttpHandler GuardAsync(const CredentialsKeeper& credentials, const HttpApiOptions& options,
                            AsyncGuardedHandler handler);

// Answers `body` as JSON with `status`.
void SendJsonAnswer(httplib::Response& response, const nlohmann::json& body, int status = 200);
// Answers the object `head` with a "rows" member whose JSON text is `rows_json` as it is: result
// cells written by CellToJson keep every digit of a DECIMAL or HUGEINT, which a round trip
// through nlohmann::json (a double) would not.
void SendJsonWithRows(httplib::Response& response, const nlohmann::json& head,
                      std::string_view rows_json, int status = 200);

// Registers the routes on `server`. `queries`, `catalog` (workgroups) and `credentials` must
// outlive it.
void RegisterHttpApi(httplib::Server& server, QueryService& queries, Catalog& catalog,
                     const CredentialsKeeper& credentials, const HttpApiOptions& options = {});

// A workgroup as the APIs show it, and back (InvalidArgument names a field of the wrong type).
nlohmann::json WorkgroupToJson(const WorkgroupConfig& workgroup);
absl::StatusOr<WorkgroupConfig> WorkgroupFromJson(const std::string& name,
                                                  const nlohmann::json& body);

}  // namespace loch
