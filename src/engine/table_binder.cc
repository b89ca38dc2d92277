// LakeEngine::Impl's table binder: see lake_engine_impl.h.
#include <algorithm>

#include "common/strings.h"
#include "engine/file_pruner.h"
#include "engine/lake_engine_impl.h"
#include "engine/prune_predicate.h"
#include "engine/session_functions.h"
#include "engine/table_view.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace loch {

absl::StatusOr<duck::Connection> LakeEngine::Impl::OpenUserConnection(const Principal& who) {
  ASSIGN_OR_RETURN(duck::Connection connection, duck::Connection::Open(database));
  RETURN_IF_ERROR(connection.Execute(SessionFunctionsSql(who.name)));
  return connection;
}

absl::StatusOr<std::unique_ptr<QueryResources>> LakeEngine::Impl::BindTables(
    const Principal& who, const StatementTables& tables,
    const std::vector<QueryParameter>& parameters, duck::Connection& connection,
    const std::map<TableName, TableSnapshot>* pinned) {
  if (!tables.unqualified.empty()) return UnknownTables(who, tables.unqualified);
  ResolvedNames names;
  RETURN_IF_ERROR(ResolveNames(who, tables.qualified, connection, 0, names));
  // System tables (loch.*) come from the catalog, not from files; read before admin_mu is taken.
  std::vector<SystemRows> system_rows;
  for (SystemTable table : names.system_tables) {
    ASSIGN_OR_RETURN(system_rows.emplace_back(), ReadSystemTable(*catalog, who, table));
  }
  auto resources = std::make_unique<QueryResources>();
  std::string catalog_name;
  std::vector<TableSnapshot> private_tables;  // read through views over their kept files
  std::vector<TableSnapshot> shared_tables;   // read through the shared views
  for (const TableName& name : names.tables) {
    // (A table read only through a view gets no predicate: the view reads all its files.)
    const auto pin = pinned != nullptr ? pinned->find(name)
                                       : std::map<TableName, TableSnapshot>::const_iterator{};
    const bool is_pinned = pinned != nullptr && pin != pinned->end();
    TableSnapshot snapshot;
    if (is_pinned) {
      snapshot = pin->second;  // read with exactly its files: never through the shared view
    } else {
      ASSIGN_OR_RETURN(snapshot, catalog->ReadTable(who, name, std::nullopt));
    }
    const size_t all_files = snapshot.files.size();
    std::erase_if(snapshot.files, HoldsNoRows);  // never read: neither counted nor fetched
    const size_t readable_files = snapshot.files.size();
    std::vector<DataFile> kept =
        FilesTheQueryMayNeed(tables.statement, parameters, snapshot, connection);
    for (const DataFile& file : kept) resources->bytes_scanned += file.size_bytes;
    resources->files_scanned += static_cast<int64_t>(kept.size());
    resources->files_total += static_cast<int64_t>(all_files);
    snapshot.files = std::move(kept);
    if (!remote() && !is_pinned && snapshot.files.size() == readable_files) {
      shared_tables.push_back(std::move(snapshot));
    } else {
      private_tables.push_back(std::move(snapshot));
    }
  }
  // The shared view of a table lists its files since its snapshot was first read: one deleted
  // since would fail the query inside DuckDB without saying which or what to do.
  for (const TableSnapshot& snapshot : shared_tables) {
    RETURN_IF_ERROR(ReadablePaths(snapshot, *resources).status());
  }
  std::vector<std::map<std::string, std::string>> private_paths;  // parallel to private_tables
  for (const TableSnapshot& snapshot : private_tables) {
    ASSIGN_OR_RETURN(private_paths.emplace_back(), ReadablePaths(snapshot, *resources));
  }
  {
    std::lock_guard lock(admin_mu);
    for (const TableSnapshot& snapshot : shared_tables) RETURN_IF_ERROR(RefreshView(snapshot));
    if (private_tables.empty() && system_rows.empty()) {
      for (const ViewInfo& view : names.views) RETURN_IF_ERROR(RefreshCatalogView(view));
      return resources;
    }
    catalog_name = fmt::format("loch_query_{}", next_query_catalog++);
    RETURN_IF_ERROR(admin.Execute(fmt::format("ATTACH ':memory:' AS {}", catalog_name)));
    resources->release = [this, name = catalog_name] {
      std::lock_guard lock(admin_mu);
      admin.Execute(fmt::format("DETACH {}", name)).IgnoreError();
    };
    for (size_t i = 0; i < private_tables.size(); ++i) {
      RETURN_IF_ERROR(DefinePrivateTableView(private_tables[i], private_paths[i], catalog_name));
    }
    for (const TableSnapshot& shared : shared_tables) {
      const TableName& name = shared.table.name;
      const std::string table =
          fmt::format("{}.{}", QuoteIdentifier(name.database), QuoteIdentifier(name.table));
      RETURN_IF_ERROR(admin.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}.{}", catalog_name,
                                                QuoteIdentifier(name.database))));
      RETURN_IF_ERROR(admin.Execute(
          fmt::format("CREATE VIEW {0}.{1} AS SELECT * FROM memory.{1}", catalog_name, table)));
    }
    for (const SystemRows& rows : system_rows) {
      RETURN_IF_ERROR(MaterializeSystemTable(admin, catalog_name, rows));
    }
    for (const ViewInfo& view : names.views) {
      RETURN_IF_ERROR(DefineView(view, catalog_name + "."));
    }
  }
  RETURN_IF_ERROR(connection.Execute(fmt::format("USE {}", catalog_name)));
  return resources;
}

absl::Status LakeEngine::Impl::ResolveNames(const Principal& who,
                                            const std::vector<TableName>& names,
                                            duck::Connection& connection, int depth,
                                            ResolvedNames& out) {
  for (const TableName& name : names) {
    if (name.database == kSystemDatabase) {
      const std::optional<SystemTable> table = SystemTableNamed(name.table);
      if (!table) {
        return absl::NotFoundError(fmt::format("unknown system table {}; the system tables are {}",
                                               name.ToString(), SystemTableList()));
      }
      out.system_tables.insert(*table);
      continue;
    }
    auto view = catalog->GetView(who, name);
    if (!view.ok()) {
      if (!absl::IsNotFound(view.status())) return view.status();
      if (std::find(out.tables.begin(), out.tables.end(), name) == out.tables.end()) {
        out.tables.push_back(name);
      }
      continue;
    }
    if (depth >= kMaxViewDepth) {
      return absl::InvalidArgumentError(
          fmt::format("view {} nests views more than {} deep (or refers to itself)",
                      name.ToString(), kMaxViewDepth));
    }
    if (std::any_of(out.views.begin(), out.views.end(),
                    [&](const ViewInfo& seen) { return seen.name == name; })) {
      continue;
    }
    auto inner = CheckUserQuery(connection, view->sql);
    if (!inner.ok()) {
      return absl::Status(inner.status().code(),
                          fmt::format("view {} no longer reads: {}", name.ToString(),
                                      ToStd(inner.status().message())));
    }
    if (!inner->unqualified.empty()) return UnknownTables(who, inner->unqualified);
    RETURN_IF_ERROR(ResolveNames(who, inner->qualified, connection, depth + 1, out));
    out.views.push_back(std::move(*view));
  }
  return absl::OkStatus();
}

absl::Status LakeEngine::Impl::DefineView(const ViewInfo& view, const std::string& catalog_prefix) {
  RETURN_IF_ERROR(admin.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}{}", catalog_prefix,
                                            QuoteIdentifier(view.name.database))));
  return Annotate(admin.Execute(fmt::format("CREATE OR REPLACE VIEW {}{}.{} AS {}", catalog_prefix,
                                            QuoteIdentifier(view.name.database),
                                            QuoteIdentifier(view.name.table), view.sql)),
                  fmt::format("preparing view {}", view.name.ToString()));
}

absl::StatusOr<std::string> LakeEngine::Impl::SafeLocalPath(const std::string& key) {
  std::optional<std::string> path = store->LocalPath(key);
  if (!path.has_value()) {
    return absl::FailedPreconditionError(fmt::format("object \"{}\" is not a local file", key));
  }
  absl::Status readable = store->Head(key).status();
  if (!readable.ok()) {
    return absl::Status(readable.code(), fmt::format("data file \"{}\" cannot be read safely: {}",
                                                     key, ToStd(readable.message())));
  }
  return *path;
}

namespace {

// A data file the catalog lists for `table` that the store no longer has (deleted or moved by
// someone else): the query cannot answer, but says which file and how to repair the table.
absl::Status WithRepairHint(absl::Status status, const TableName& table, const std::string& key) {
  if (!absl::IsNotFound(status)) return status;
  return absl::NotFoundError(fmt::format(
      "data file \"{}\" of table {} is gone from the store (deleted or moved outside loch); "
      "queries that do not read it still work (e.g. with a WHERE on other partitions). Put the "
      "object back; or, if a crawler keeps this table, remove it from the table with a run "
      "under --deletes delete (`loch crawler update NAME --deletes delete`, then `loch crawler "
      "run NAME`)",
      key, table.ToString()));
}

}  // namespace

absl::Status LakeEngine::Impl::RefreshView(const TableSnapshot& snapshot) {
  const TableName& name = snapshot.table.name;
  auto it = views.find(name);
  if (it != views.end() && it->second >= snapshot.table.current_snapshot) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      std::string body, BuildTableViewSql(snapshot, [&](const DataFile& file) {
        auto path = SafeLocalPath(file.key);
        if (!path.ok())
          return absl::StatusOr<std::string>(WithRepairHint(path.status(), name, file.key));
        return path;
      }));
  RETURN_IF_ERROR(
      admin.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}", QuoteIdentifier(name.database))));
  RETURN_IF_ERROR(Annotate(
      admin.Execute(fmt::format("CREATE OR REPLACE VIEW {}.{} AS {}",
                                QuoteIdentifier(name.database), QuoteIdentifier(name.table), body)),
      fmt::format("preparing table {}", name.ToString())));
  views[name] = snapshot.table.current_snapshot;
  catalog_views.erase(name);
  return absl::OkStatus();
}

absl::Status LakeEngine::Impl::RefreshCatalogView(const ViewInfo& view) {
  auto it = catalog_views.find(view.name);
  if (it != catalog_views.end() && it->second == view.view_id) return absl::OkStatus();
  RETURN_IF_ERROR(DefineView(view, ""));
  catalog_views[view.name] = view.view_id;
  views.erase(view.name);
  return absl::OkStatus();
}

std::vector<DataFile> LakeEngine::Impl::FilesTheQueryMayNeed(
    const nlohmann::json& statement, const std::vector<QueryParameter>& parameters,
    TableSnapshot& snapshot, duck::Connection& connection) {
  if (!options.prune_files) return std::move(snapshot.files);
  // One local file: DuckDB skips its row groups by their statistics itself, and pruning would
  // only cost a query.
  if (!remote() && snapshot.files.size() <= 1) return std::move(snapshot.files);
  const PrunePredicate predicate =
      ExtractPrunePredicate(statement, snapshot.table.name, snapshot.table.schema, parameters);
  auto may_match = FilesThatMayMatch(connection, predicate, snapshot.table.schema, snapshot.files);
  if (!may_match.ok()) {
    spdlog::debug("pruning {} kept every file: {}", snapshot.table.name.ToString(),
                  ToStd(may_match.status().message()));
    return std::move(snapshot.files);
  }
  std::vector<DataFile> kept;
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    if ((*may_match)[i]) kept.push_back(std::move(snapshot.files[i]));
  }
  return kept;
}

absl::StatusOr<std::map<std::string, std::string>> LakeEngine::Impl::ReadablePaths(
    const TableSnapshot& snapshot, QueryResources& resources) {
  std::map<std::string, std::string> paths;
  if (!remote()) {
    for (const DataFile& file : snapshot.files) {
      auto path = SafeLocalPath(file.key);
      if (!path.ok()) return WithRepairHint(path.status(), snapshot.table.name, file.key);
      paths[file.key] = std::move(*path);
    }
    return paths;
  }
  std::vector<std::pair<std::string, std::string>> wanted;
  for (const DataFile& file : snapshot.files) wanted.emplace_back(file.key, file.etag);
  auto fetched = options.cache->FetchAll(wanted);
  if (!fetched.ok() && absl::IsNotFound(fetched.status())) {
    for (const DataFile& file :
         snapshot.files) {  // which one: a remote HEAD per file, on failure only
      if (absl::IsNotFound(store->Head(file.key).status()))
        return WithRepairHint(fetched.status(), snapshot.table.name, file.key);
    }
  }
  ASSIGN_OR_RETURN(auto leases, std::move(fetched));
  for (size_t i = 0; i < leases.size(); ++i) paths[snapshot.files[i].key] = leases[i]->path();
  for (auto& lease : leases) resources.files.push_back(std::move(lease));
  return paths;
}

absl::Status LakeEngine::Impl::DefinePrivateTableView(
    const TableSnapshot& snapshot, const std::map<std::string, std::string>& paths,
    const std::string& catalog_name) {
  const TableName& name = snapshot.table.name;
  ASSIGN_OR_RETURN(std::string body, BuildTableViewSql(snapshot, [&](const DataFile& file) {
                     return absl::StatusOr<std::string>(paths.at(file.key));
                   }));
  RETURN_IF_ERROR(admin.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}.{}", catalog_name,
                                            QuoteIdentifier(name.database))));
  return Annotate(
      admin.Execute(fmt::format("CREATE VIEW {}.{}.{} AS {}", catalog_name,
                                QuoteIdentifier(name.database), QuoteIdentifier(name.table), body)),
      fmt::format("preparing table {}", name.ToString()));
}

absl::Status LakeEngine::Impl::UnknownTables(const Principal& who,
                                             const std::vector<std::string>& names) {
  auto tables = catalog->ListTables(who, std::nullopt);
  std::vector<std::string> existing;
  if (tables.ok()) {
    for (const TableInfo& table : *tables) existing.push_back(table.name.ToString());
  }
  // A bare name (no database): the table of that name in any database is what was meant.
  std::vector<std::string> bare;
  for (const std::string& table : existing) bare.push_back(table.substr(table.find('.') + 1));
  std::string suggestion;
  for (size_t i = 0; i < bare.size(); ++i) {
    if (bare[i] == names.front() || ClosestMatch(names.front(), {bare[i]})) {
      suggestion = fmt::format(" (did you mean {}?)", existing[i]);
      break;
    }
  }
  return absl::NotFoundError(fmt::format(
      "unknown table \"{}\"{}: name tables as DATABASE.TABLE; {}", names.front(), suggestion,
      existing.empty() ? "the lake has no tables yet (add some with `loch load`)"
                       : "tables: " + Join(existing, ", ")));
}

}  // namespace loch
