#pragma once
// The catalog over HTTP, read-only (same authentication as the rest of the API):
//
// clang-format off
//   GET /api/v1/databases                 every database with its number of tables and views
//   GET /api/v1/tables[?database=DB]      tables (rows, files, bytes, snapshot, schema version,
//                                         comment) and views, ordered by name
//   GET /api/v1/tables/{db}.{name}        a table: location, columns (with comments), partition
//                                         columns, schema versions, snapshots (?snapshots=N: the
//                                         newest N, default 100; snapshots_total) and live files
//                                         (?files=N: at most N, default 1000; files_total says how
//                                         many); or a view: its SQL, what it reads, its columns
// clang-format on
//
// Names fold to lowercase as everywhere (Shop.Orders is shop.orders). Unknown names answer 404
// with the catalog's message (which lists what exists).

#include "catalog/catalog.h"
#include "server/http_api.h"

namespace loch {

// `catalog` must outlive the server.
void RegisterCatalogApi(httplib::Server& server, Catalog& catalog, const Guard& guard);

}  // namespace loch
