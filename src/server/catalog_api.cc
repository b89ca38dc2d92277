#include "server/catalog_api.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "common/clock.h"
#include "fmt/format.h"

namespace loch {
namespace {

using nlohmann::json;

constexpr size_t kDefaultFiles = 1000;
constexpr size_t kDefaultSnapshots = 100;

// The non-negative count in query parameter `name` (`fallback` if absent); InvalidArgument for
// anything else.
absl::StatusOr<size_t> CountParam(const httplib::Request& request, const char* name,
                                  size_t fallback) {
  if (!request.has_param(name)) return fallback;
  const std::string text = request.get_param_value(name);
  size_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        fmt::format("?{}= must be a count (0, 1, 2, ...), not \"{}\"", name, text));
  }
  return value;
}

json ColumnsJson(const std::vector<Column>& columns) {
  json out = json::array();
  for (const Column& column : columns) {
    out.push_back({{"name", column.name},
                   {"type", column.type},
                   {"nullable", column.nullable},
                   {"comment", column.comment.empty() ? json(nullptr) : json(column.comment)}});
  }
  return out;
}

json SnapshotJson(const SnapshotInfo& snapshot) {
  return {{"snapshot_id", snapshot.snapshot_id},
          {"parent_id", snapshot.parent_id ? json(*snapshot.parent_id) : json(nullptr)},
          {"committed_at", FormatIsoMicros(snapshot.committed_micros)},
          {"operation", snapshot.operation},
          {"author", snapshot.author},
          {"message", snapshot.message},
          {"summary", snapshot.summary},
          {"schema_version", snapshot.schema_version}};
}

json FileJson(const DataFile& file) {
  return {{"key", file.key},
          {"format", file.format},
          {"compression", file.compression},
          {"size_bytes", file.size_bytes},
          {"row_count", file.row_count},
          {"partition_values", file.partition_values},
          {"added_snapshot", file.added_snapshot}};
}

json ViewJson(const ViewInfo& view) {
  json reads = nullptr;
  if (view.reads.has_value()) {
    reads = json::array();
    for (const TableName& read : *view.reads) reads.push_back(read.ToString());
  }
  return {{"name", view.name.ToString()},
          {"kind", "view"},
          {"sql", view.sql},
          {"reads", reads},
          {"columns", ColumnsJson(view.columns)},
          {"created_at", FormatIsoMicros(view.created_micros)},
          {"author", view.author}};
}

// A table in a listing: its size at its current snapshot.
absl::StatusOr<json> TableSummaryJson(Catalog& catalog, const Principal& who,
                                      const TableInfo& table) {
  ASSIGN_OR_RETURN(TableSnapshot snapshot, catalog.ReadTable(who, table.name, std::nullopt));
  int64_t rows = 0, bytes = 0;
  for (const DataFile& file : snapshot.files) {
    rows += std::max<int64_t>(file.row_count, 0);
    bytes += file.size_bytes;
  }
  return json{
      {"name", table.name.ToString()},
      {"kind", "table"},
      {"rows", rows},
      {"files", snapshot.files.size()},
      {"bytes", bytes},
      {"snapshot", table.current_snapshot},
      {"schema_version", table.schema.version},
      {"comment", table.schema.comment.empty() ? json(nullptr) : json(table.schema.comment)}};
}

absl::StatusOr<json> TableJson(Catalog& catalog, const Principal& who, const TableSnapshot& table,
                               size_t max_files, size_t max_snapshots) {
  const TableName& name = table.table.name;
  ASSIGN_OR_RETURN(std::vector<Schema> schemas, catalog.ListSchemas(who, name));
  ASSIGN_OR_RETURN(std::vector<SnapshotInfo> snapshots, catalog.ListSnapshots(who, name));
  json versions = json::array();
  for (const Schema& schema : schemas) {
    versions.push_back(
        {{"version", schema.version},
         {"columns", ColumnsJson(schema.columns)},
         {"partition_columns", ColumnsJson(schema.partition_columns)},
         {"comment", schema.comment.empty() ? json(nullptr) : json(schema.comment)}});
  }
  json history = json::array();  // the newest max_snapshots, oldest first
  const size_t skipped = snapshots.size() > max_snapshots ? snapshots.size() - max_snapshots : 0;
  for (size_t i = skipped; i < snapshots.size(); ++i) history.push_back(SnapshotJson(snapshots[i]));
  json files = json::array();
  int64_t rows = 0, bytes = 0;
  for (const DataFile& file : table.files) {
    rows += std::max<int64_t>(file.row_count, 0);
    bytes += file.size_bytes;
    if (files.size() < max_files) files.push_back(FileJson(file));
  }
  const Schema& schema = table.table.schema;
  return json{{"name", name.ToString()},
              {"kind", "table"},
              {"location", table.table.location},
              {"created_at", FormatIsoMicros(table.table.created_micros)},
              {"comment", schema.comment.empty() ? json(nullptr) : json(schema.comment)},
              {"rows", rows},
              {"bytes", bytes},
              {"snapshot", SnapshotJson(table.snapshot)},
              {"schema_version", schema.version},
              {"columns", ColumnsJson(schema.columns)},
              {"partition_columns", ColumnsJson(schema.partition_columns)},
              {"schema_versions", versions},
              {"snapshots", history},
              {"snapshots_total", snapshots.size()},
              {"files", files},
              {"files_total", table.files.size()}};
}

}  // namespace

void RegisterCatalogApi(httplib::Server& server, Catalog& catalog, const Guard& guard) {
  server.Get(
      "/api/v1/databases", guard([&catalog](const Principal& who, const httplib::Request&,
                                            httplib::Response& response) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<std::string> names, catalog.ListDatabases(who));
        ASSIGN_OR_RETURN(std::vector<TableInfo> tables, catalog.ListTables(who, std::nullopt));
        ASSIGN_OR_RETURN(std::vector<ViewInfo> views, catalog.ListViews(who, std::nullopt));
        std::map<std::string, std::pair<int, int>> counts;  // database -> tables, views
        for (const TableInfo& table : tables) ++counts[table.name.database].first;
        for (const ViewInfo& view : views) ++counts[view.name.database].second;
        json list = json::array();
        for (const std::string& name : names) {
          list.push_back(
              {{"name", name}, {"tables", counts[name].first}, {"views", counts[name].second}});
        }
        SendJsonAnswer(response, {{"databases", list}});
        return absl::OkStatus();
      }));

  server.Get("/api/v1/tables",
             guard([&catalog](const Principal& who, const httplib::Request& request,
                              httplib::Response& response) -> absl::Status {
               std::optional<std::string> database;
               if (request.has_param("database")) {
                 std::string name = request.get_param_value("database");
                 std::transform(name.begin(), name.end(), name.begin(),
                                [](unsigned char c) { return std::tolower(c); });
                 database = std::move(name);
               }
               ASSIGN_OR_RETURN(std::vector<TableInfo> tables, catalog.ListTables(who, database));
               ASSIGN_OR_RETURN(std::vector<ViewInfo> views, catalog.ListViews(who, database));
               std::map<TableName, json> entries;  // tables and views in name order
               for (const TableInfo& table : tables) {
                 absl::StatusOr<json> summary = TableSummaryJson(catalog, who, table);
                 if (absl::IsNotFound(summary.status())) continue;  // dropped meanwhile
                 ASSIGN_OR_RETURN(entries[table.name], std::move(summary));
               }
               for (const ViewInfo& view : views) {
                 entries[view.name] = {{"name", view.name.ToString()}, {"kind", "view"}};
               }
               json list = json::array();
               for (auto& [name, entry] : entries) list.push_back(std::move(entry));
               SendJsonAnswer(response, {{"tables", list}});
               return absl::OkStatus();
             }));

  server.Get(
      R"(/api/v1/tables/([^/]+))",
      guard([&catalog](const Principal& who, const httplib::Request& request,
                       httplib::Response& response) -> absl::Status {
        ASSIGN_OR_RETURN(TableName name, TableName::Parse(request.matches[1].str()));
        ASSIGN_OR_RETURN(size_t max_files, CountParam(request, "files", kDefaultFiles));
        ASSIGN_OR_RETURN(size_t max_snapshots, CountParam(request, "snapshots", kDefaultSnapshots));
        absl::StatusOr<TableSnapshot> table = catalog.ReadTable(who, name, std::nullopt);
        if (absl::IsNotFound(table.status())) {
          absl::StatusOr<ViewInfo> view = catalog.GetView(who, name);
          if (!view.ok()) return table.status();  // lists the tables that exist
          SendJsonAnswer(response, ViewJson(*view));
          return absl::OkStatus();
        }
        RETURN_IF_ERROR(table.status());
        ASSIGN_OR_RETURN(json body, TableJson(catalog, who, *table, max_files, max_snapshots));
        SendJsonAnswer(response, body);
        return absl::OkStatus();
      }));
}

}  // namespace loch
