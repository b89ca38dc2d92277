#pragma once
// The web console's saved queries and dashboards over HTTP (same authentication as the rest of the
// API: a bearer token or the console's session cookie), and dashboards shared by link. Saved
// queries and dashboards are versioned in the catalog; a save names the version it was made from
// (`base_version`, 0 to create) and is refused with 409 if someone saved another since, so two
// editors never overwrite each other and nothing is saved without asking (the console has no
// autosave). See dashboard_spec.h for the JSON.
//
// clang-format off
//   GET    /api/v1/saved-queries                  every saved query (current versions)
//   GET    /api/v1/saved-queries/{name}           one (?version=N)
//   PUT    /api/v1/saved-queries/{name}           {"sql", "description", "base_version"} -> 201 / 200
//   DELETE /api/v1/saved-queries/{name}
//   GET    /api/v1/dashboards                     every dashboard: name, version, title, tiles
//   GET    /api/v1/dashboards/{name}              {"name", "version", "definition", "updated_at",
//                                                 "updated_by", "shared"} (?version=N)
//   GET    /api/v1/dashboards/{name}/versions     its versions, newest first
//   PUT    /api/v1/dashboards/{name}              {"definition", "base_version"} -> 201 / 200
//   DELETE /api/v1/dashboards/{name}              with its share links
//   POST   /api/v1/dashboards/{name}/share        a new read-only link -> {"token"} (shown once;
//                                                 the catalog keeps only its SHA-256)
//   DELETE /api/v1/dashboards/{name}/share        ends every link to it
//   GET    /api/v1/dashboards/{name}/tiles/{id}   runs the tile's saved query with the dashboard's
//                                                 parameters (?p.NAME=VALUE; defaults otherwise) ->
//                                                 {"columns", "rows", "truncated", "query",
//                                                  "freshness": {"tables", "stale", "as_of"}}:
//                                                 each table it reads with its last change (and
//                                                 expected freshness); stale if one is; as_of the
//                                                 least recent of their changes
//   GET    /api/v1/shared/{token}                 the shared dashboard, without signing in
//   GET    /api/v1/shared/{token}/tiles/{id}      its tiles, as above (run as "share:NAME"); a
//                                                 link runs only its dashboard's tiles, no other SQL
// clang-format on

#include "catalog/catalog.h"
#include "engine/lake_engine.h"
#include "query/query_service.h"
#include "server/http_api.h"

namespace loch {

// `catalog`, `engine` and `queries` must outlive the server.
void RegisterDashboardApi(httplib::Server& server, Catalog& catalog, LakeEngine& engine,
                          QueryService& queries, const Guard& guard);

}  // namespace loch
