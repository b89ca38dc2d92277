#pragma once
// loch's HTTP API (native REST, JSON). Every /api/ route needs `Authorization: Bearer <token>`.
//
//   GET    /health                          "ok" (no authentication)
//   POST   /api/v1/queries                  {"sql": "..."} -> {"id", "state"} (asynchronous) GET
//   /api/v1/queries                  recent queries, newest first (?limit=N) GET
//   /api/v1/queries/{id}             state, timings, rows, error GET /api/v1/queries/{id}/results
//   ?format=json|csv&offset=N&limit=N DELETE /api/v1/queries/{id}             cancel POST
//   /api/v1/query                    {"sql": "...", "timeout_seconds": 60} -> the result
//   (synchronous)

#include <string>

#include "server/admin_credentials.h"
#include "server/query_service.h"

namespace httplib {
class Server;
}

namespace loch {

struct HttpApiOptions {
  size_t max_body_bytes = 1 << 20;  // larger request bodies get 413
  size_t max_page_rows = 10000;     // results page size limit
};

// Registers the routes on `server`. `queries` and `credentials` must outlive it.
void RegisterHttpApi(httplib::Server& server, QueryService& queries,
                     const AdminCredentials& credentials, const HttpApiOptions& options = {});

}  // namespace loch
