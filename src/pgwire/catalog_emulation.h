#pragma once
// PgCatalogEmulation: answers the catalog queries that psql (\dt, \d TABLE, \dn, \dv) and BI tools
// send (pg_catalog.*, information_schema.*) from loch's catalog.
//
// It keeps a small in-memory DuckDB database whose tables are shaped like PostgreSQL's catalog
// (pg_namespace, pg_class, pg_attribute, pg_type, information_schema's tables/columns/...) plus
// macros for the functions psql calls (format_type, pg_get_userbyid, pg_table_is_visible, ...).
// A catalog query is rewritten lightly (schema prefixes dropped, PostgreSQL-only syntax such as
// `COLLATE pg_catalog.default` removed) and run there. Lake databases appear as schemas, tables as
// ordinary tables (relkind 'r'), all visible. The database holds no lake data, cannot reach files
// (external access off, configuration locked), and only SELECTs run in it.
// Thread-safe (one query at a time; catalog queries are small).

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "engine/lake_engine.h"

namespace loch::pg {

class PgCatalogEmulation {
 public:
  // `catalog` must outlive the emulation. `owner` is the user shown as every object's owner.
  static absl::StatusOr<std::unique_ptr<PgCatalogEmulation>> Open(Catalog* catalog,
                                                                  const std::string& owner);
  ~PgCatalogEmulation();

  // True if `sql` reads PostgreSQL's catalog: it names pg_catalog or information_schema, reads
  // FROM/JOIN a pg_* relation, or asks for version() / current_database() without a FROM.
  static bool IsCatalogQuery(std::string_view sql);

  // Brings the emulated catalog up to date with loch's catalog (cheap when nothing changed) and
  // runs `sql`, a SELECT. The rows are materialized (catalog answers are small).
  absl::StatusOr<std::unique_ptr<QueryCursor>> Query(
      const Principal& who, std::string_view sql,
      const std::vector<QueryParameter>& parameters = {});

  struct State;

 private:
  explicit PgCatalogEmulation(std::unique_ptr<State> state);
  absl::Status Refresh(const Principal& who);
  std::unique_ptr<State> state_;
};

// The rewrite applied to catalog queries before they run (exposed for tests).
std::string RewriteCatalogQuery(std::string_view sql);

}  // namespace loch::pg
