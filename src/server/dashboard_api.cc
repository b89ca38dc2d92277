#include "server/dashboard_api.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "common/clock.h"
#include "common/content_hash.h"
#include "common/ids.h"
#include "common/strings.h"
#include "engine/result_set.h"
#include "fmt/format.h"
#include "orchestrate/freshness.h"
#include "server/dashboard_spec.h"
#include "server/http_status.h"
#include "server/json_depth.h"

namespace loch {

namespace {

using nlohmann::json;

constexpr char kSavedQuery[] = "saved_query";
constexpr char kDashboard[] = "dashboard";
constexpr char kShare[] = "share";
constexpr size_t kMaxTileRows = 10000;
constexpr char kParameterPrefix[] = "p.";

absl::StatusOr<json> JsonBody(const httplib::Request& request) {
  RETURN_IF_ERROR(CheckJsonDepth(request.body));
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return absl::InvalidArgumentError("the body must be a JSON object");
  }
  return body;
}

absl::StatusOr<int64_t> BaseVersion(const json& body) {
  const auto it = body.find("base_version");
  if (it == body.end() || !(it->is_number_unsigned() || it->is_number_integer()) ||
      it->get<int64_t>() < 0) {
    return absl::InvalidArgumentError(
        "base_version must be the version you edited (0 to create a new one)");
  }
  return it->get<int64_t>();
}

// ?version=N, if given.
absl::StatusOr<std::optional<int64_t>> VersionParam(const httplib::Request& request) {
  if (!request.has_param("version")) return std::optional<int64_t>();
  const std::optional<int64_t> version = ParseInteger(request.get_param_value("version"), 1);
  if (!version) return absl::InvalidArgumentError("version must be a whole number from 1");
  return version;
}

json Stamp(const SavedDocument& document) {
  return {{"name", document.name},
          {"version", document.version},
          {"updated_at", FormatIsoMicros(document.created_micros)},
          {"updated_by", document.created_by}};
}

json SavedQueryJson(const SavedDocument& document) {
  json out = Stamp(document);
  out["sql"] = document.definition.value("sql", "");
  out["description"] = document.definition.value("description", "");
  return out;
}

std::string ShareKey(std::string_view token) {
  Sha256 hash;
  hash.Update(token);
  return hash.HexDigest();
}

// The first version of the dashboard `name` as it is now (after its last deletion, if any): which
// dashboard of that name a share link was made for.
absl::StatusOr<int64_t> FirstVersion(Catalog& catalog, const Principal& who,
                                     std::string_view name) {
  ASSIGN_OR_RETURN(const std::vector<SavedDocument> versions,
                   catalog.ListDocumentVersions(who, kDashboard, name));
  return versions.front().version;
}

// The share links' documents that open `dashboard`.
absl::StatusOr<std::vector<SavedDocument>> SharesOf(Catalog& catalog, const Principal& who,
                                                    std::string_view dashboard) {
  ASSIGN_OR_RETURN(std::vector<SavedDocument> shares, catalog.ListDocuments(who, kShare));
  std::erase_if(shares, [&](const SavedDocument& share) {
    return share.definition.value("dashboard", "") != dashboard;
  });
  return shares;
}

// The p.NAME=VALUE parameters of a tile request.
std::map<std::string, std::string> ParameterValues(const httplib::Request& request) {
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : request.params) {
    if (key.starts_with(kParameterPrefix)) values[key.substr(2)] = value;
  }
  return values;
}

// What share links may take of the server (they need no sign-in): kRunning tiles at once, and
// kWaiting more waiting up to kPatience for their turn; beyond that a tile is refused (429), so
// viewers of links cannot hold the HTTP threads that everything else needs.
class SharedRunLimit {
 public:
  static constexpr int kRunning = 4;
  static constexpr int kWaiting = 12;
  static constexpr auto kPatience = std::chrono::seconds(15);

  // OK once the caller may run a tile (it then calls Leave); ResourceExhausted if it may not.
  absl::Status Enter() {
    std::unique_lock lock(mu_);
    if (waiting_ >= kWaiting) return Busy();
    ++waiting_;
    const bool turn = turn_.wait_for(lock, kPatience, [&] { return running_ < kRunning; });
    --waiting_;
    if (!turn) return Busy();
    ++running_;
    return absl::OkStatus();
  }
  void Leave() {
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    turn_.notify_one();
  }

 private:
  static absl::Status Busy() {
    return absl::ResourceExhaustedError(
        "shared dashboards are busy (too many tiles at once): try again in a moment");
  }
  std::mutex mu_;
  std::condition_variable turn_;
  int running_ = 0;  // guarded by mu_
  int waiting_ = 0;  // guarded by mu_
};

// Runs dashboard tiles: the saved query bound to the parameters, its first kMaxTileRows rows,
// the query's record and the freshness of the tables it reads.
class TileRunner {
 public:
  TileRunner(Catalog& catalog, LakeEngine& engine, QueryService& queries)
      : catalog_(catalog), engine_(engine), queries_(queries) {}

  // A tile's answer without its rows, and its rows as JSON text (cells as CellToJson writes them:
  // exact; see SendJsonWithRows).
  struct Answer {
    json head;
    std::string rows;
  };

  absl::StatusOr<Answer> Run(const Principal& who, const SavedDocument& dashboard,
                             std::string_view tile_id,
                             const std::map<std::string, std::string>& values) {
    ASSIGN_OR_RETURN(const DashboardSpec spec, DashboardFromJson(dashboard.definition));
    const DashboardTile* tile = spec.FindTile(tile_id);
    if (tile == nullptr) {
      return absl::NotFoundError(
          fmt::format("dashboard \"{}\" has no tile \"{}\"", dashboard.name, tile_id));
    }
    absl::StatusOr<SavedDocument> saved = catalog_.GetDocument(who, kSavedQuery, tile->query);
    if (absl::IsNotFound(saved.status())) {
      return absl::NotFoundError(
          fmt::format("tile \"{}\" shows the saved query \"{}\", which no longer exists",
                      tile->title.empty() ? tile->id : tile->title, tile->query));
    }
    RETURN_IF_ERROR(saved.status());
    ASSIGN_OR_RETURN(
        const BoundSql bound,
        BindDashboardParameters(saved->definition.value("sql", ""), spec.parameters, values));
    // Also what keeps tiles read-only: SourceTables refuses (PermissionDenied) any statement that
    // is not a query, before anything runs.
    ASSIGN_OR_RETURN(const std::vector<TableName> sources,
                     engine_.SourceTables(who, bound.sql_without_values));
    ASSIGN_OR_RETURN(
        QueryService::Streamed streamed,
        queries_.Stream(who, bound.sql, WorkgroupConfig::kPrimary, bound.parameters, "console"));
    ASSIGN_OR_RETURN(Answer answer, ReadRows(*streamed.cursor));
    streamed.cursor.reset();  // the query is finished in the history
    ASSIGN_OR_RETURN(const QueryInfo info, queries_.Describe(streamed.id));
    json& out = answer.head;
    out["query"] = {{"id", info.id},
                    {"elapsed_ms", (info.finished_micros - info.submitted_micros) / 1000.0},
                    {"bytes_scanned", info.bytes_scanned},
                    {"finished_at", FormatIsoMicros(info.finished_micros)}};
    ASSIGN_OR_RETURN(out["freshness"], Freshness(who, sources));
    return answer;
  }

 private:
  // The rows of `cursor`: at most kMaxTileRows are read; past them the query is stopped (its
  // history record then says CANCELLED) and "truncated" is true.
  static absl::StatusOr<Answer> ReadRows(QueryCursor& cursor) {
    json columns = json::array();
    for (const ResultColumn& column : cursor.columns()) {
      columns.push_back({{"name", column.name}, {"type", column.type}});
    }
    std::string rows = "[";
    size_t kept = 0;
    bool truncated = false;
    while (!truncated) {
      ASSIGN_OR_RETURN(const std::optional<ResultChunk> chunk, cursor.Next());
      if (!chunk.has_value()) break;
      for (size_t row = 0; row < chunk->row_count && !truncated; ++row) {
        if (kept == kMaxTileRows) {
          truncated = true;
          break;
        }
        rows += kept++ ? ",[" : "[";
        for (size_t column = 0; column < chunk->cells.size(); ++column) {
          if (column) rows += ",";
          rows += CellToJson(chunk->cells[column][row], cursor.columns()[column].kind);
        }
        rows += "]";
      }
    }
    return Answer{{{"columns", columns}, {"truncated", truncated}}, rows + "]"};
  }

  absl::StatusOr<json> Freshness(const Principal& who, const std::vector<TableName>& sources) {
    ASSIGN_OR_RETURN(const std::vector<orchestrate::TableFreshness> all,
                     orchestrate::ReadFreshness(catalog_, who, /*expected_only=*/false));
    const int64_t now = NowMicros();
    json tables = json::array();
    bool stale = false;
    int64_t as_of = 0;
    for (const TableName& source : sources) {
      for (const orchestrate::TableFreshness& table : all) {
        if (table.table != source) continue;
        tables.push_back(table.ToJson(now));
        stale = stale || table.Stale(now);
        // The data is as recent as its least recent table.
        as_of = as_of == 0 ? table.last_changed_micros : std::min(as_of, table.last_changed_micros);
      }
    }
    json out{{"tables", tables}, {"stale", stale}};
    out["as_of"] = as_of == 0 ? json(nullptr) : json(FormatIsoMicros(as_of));
    return out;
  }

  Catalog& catalog_;
  LakeEngine& engine_;
  QueryService& queries_;
};

}  // namespace

void RegisterDashboardApi(httplib::Server& server, Catalog& catalog, LakeEngine& engine,
                          QueryService& queries, const Guard& guard) {
  auto tiles = std::make_shared<TileRunner>(catalog, engine, queries);
  using Request = httplib::Request;
  using Response = httplib::Response;

  // --- Saved queries ---
  server.Get("/api/v1/saved-queries",
             guard([&catalog](const Principal& who, const Request&, Response& response) {
               ASSIGN_OR_RETURN(const std::vector<SavedDocument> all,
                                catalog.ListDocuments(who, kSavedQuery));
               json list = json::array();
               for (const SavedDocument& saved : all) list.push_back(SavedQueryJson(saved));
               SendJsonAnswer(response, {{"saved_queries", list}});
               return absl::OkStatus();
             }));
  server.Get(R"(/api/v1/saved-queries/([^/]+))",
             guard([&catalog](const Principal& who, const Request& request, Response& response) {
               ASSIGN_OR_RETURN(const std::optional<int64_t> version, VersionParam(request));
               ASSIGN_OR_RETURN(
                   const SavedDocument saved,
                   catalog.GetDocument(who, kSavedQuery, request.matches[1].str(), version));
               SendJsonAnswer(response, SavedQueryJson(saved));
               return absl::OkStatus();
             }));
  server.Put(
      R"(/api/v1/saved-queries/([^/]+))",
      guard([&catalog](const Principal& who, const Request& request, Response& response) {
        const std::string name = request.matches[1].str();
        RETURN_IF_ERROR(ValidateConsoleName(name, "a saved query's name"));
        ASSIGN_OR_RETURN(const json body, JsonBody(request));
        ASSIGN_OR_RETURN(const SavedQuerySpec spec, SavedQueryFromJson(body));
        ASSIGN_OR_RETURN(const int64_t base, BaseVersion(body));
        ASSIGN_OR_RETURN(
            const SavedDocument saved,
            catalog.PutDocument(who, {kSavedQuery, name, 0, SavedQueryToJson(spec), 0, ""}, base));
        SendJsonAnswer(response, SavedQueryJson(saved), base == 0 ? 201 : 200);
        return absl::OkStatus();
      }));
  server.Delete(
      R"(/api/v1/saved-queries/([^/]+))",
      guard([&catalog](const Principal& who, const Request& request, Response& response) {
        RETURN_IF_ERROR(catalog.DeleteDocument(who, kSavedQuery, request.matches[1].str()));
        SendJsonAnswer(response, {{"deleted", request.matches[1].str()}});
        return absl::OkStatus();
      }));

  // --- Dashboards ---
  server.Get("/api/v1/dashboards",
             guard([&catalog](const Principal& who, const Request&, Response& response) {
               ASSIGN_OR_RETURN(const std::vector<SavedDocument> all,
                                catalog.ListDocuments(who, kDashboard));
               json list = json::array();
               for (const SavedDocument& dashboard : all) {
                 json entry = Stamp(dashboard);
                 entry["title"] = dashboard.definition.value("title", "");
                 entry["tiles"] = dashboard.definition.value("tiles", json::array()).size();
                 list.push_back(std::move(entry));
               }
               SendJsonAnswer(response, {{"dashboards", list}});
               return absl::OkStatus();
             }));
  server.Get(R"(/api/v1/dashboards/([^/]+))",
             guard([&catalog](const Principal& who, const Request& request, Response& response) {
               const std::string name = request.matches[1].str();
               ASSIGN_OR_RETURN(const std::optional<int64_t> version, VersionParam(request));
               ASSIGN_OR_RETURN(const SavedDocument dashboard,
                                catalog.GetDocument(who, kDashboard, name, version));
               ASSIGN_OR_RETURN(const std::vector<SavedDocument> shares,
                                SharesOf(catalog, who, name));
               json out = Stamp(dashboard);
               out["definition"] = dashboard.definition;
               out["shared"] = !shares.empty();
               SendJsonAnswer(response, out);
               return absl::OkStatus();
             }));
  server.Get(R"(/api/v1/dashboards/([^/]+)/versions)",
             guard([&catalog](const Principal& who, const Request& request, Response& response) {
               ASSIGN_OR_RETURN(
                   const std::vector<SavedDocument> versions,
                   catalog.ListDocumentVersions(who, kDashboard, request.matches[1].str()));
               json list = json::array();
               for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
                 json entry = Stamp(*it);
                 entry["title"] = it->definition.value("title", "");
                 list.push_back(std::move(entry));
               }
               SendJsonAnswer(response, {{"versions", list}});
               return absl::OkStatus();
             }));
  server.Put(
      R"(/api/v1/dashboards/([^/]+))",
      guard([&catalog](const Principal& who, const Request& request, Response& response) {
        const std::string name = request.matches[1].str();
        RETURN_IF_ERROR(ValidateConsoleName(name, "a dashboard's name"));
        ASSIGN_OR_RETURN(const json body, JsonBody(request));
        ASSIGN_OR_RETURN(const int64_t base, BaseVersion(body));
        ASSIGN_OR_RETURN(const DashboardSpec spec,
                         DashboardFromJson(body.value("definition", json())));
        ASSIGN_OR_RETURN(
            const SavedDocument saved,
            catalog.PutDocument(who, {kDashboard, name, 0, DashboardToJson(spec), 0, ""}, base));
        json out = Stamp(saved);
        out["definition"] = saved.definition;
        SendJsonAnswer(response, out, base == 0 ? 201 : 200);
        return absl::OkStatus();
      }));
  server.Delete(R"(/api/v1/dashboards/([^/]+))",
                guard([&catalog](const Principal& who, const Request& request, Response& response) {
                  const std::string name = request.matches[1].str();
                  RETURN_IF_ERROR(catalog.DeleteDocument(who, kDashboard, name));
                  ASSIGN_OR_RETURN(const std::vector<SavedDocument> shares,
                                   SharesOf(catalog, who, name));
                  for (const SavedDocument& share : shares) {
                    RETURN_IF_ERROR(catalog.DeleteDocument(who, kShare, share.name));
                  }
                  SendJsonAnswer(response, {{"deleted", name}});
                  return absl::OkStatus();
                }));
  server.Post(
      R"(/api/v1/dashboards/([^/]+)/share)",
      guard([&catalog](const Principal& who, const Request& request, Response& response) {
        const std::string name = request.matches[1].str();
        ASSIGN_OR_RETURN(const int64_t first, FirstVersion(catalog, who, name));
        const std::string token = NewRandomId() + NewRandomId();
        const json link{{"dashboard", name}, {"first_version", first}};
        RETURN_IF_ERROR(
            catalog.PutDocument(who, {kShare, ShareKey(token), 0, link, 0, ""}, 0).status());
        SendJsonAnswer(response, {{"token", token}}, 201);
        return absl::OkStatus();
      }));
  server.Delete(R"(/api/v1/dashboards/([^/]+)/share)",
                guard([&catalog](const Principal& who, const Request& request, Response& response) {
                  ASSIGN_OR_RETURN(const std::vector<SavedDocument> shares,
                                   SharesOf(catalog, who, request.matches[1].str()));
                  for (const SavedDocument& share : shares) {
                    RETURN_IF_ERROR(catalog.DeleteDocument(who, kShare, share.name));
                  }
                  SendJsonAnswer(response, {{"links_ended", shares.size()}});
                  return absl::OkStatus();
                }));
  server.Get(
      R"(/api/v1/dashboards/([^/]+)/tiles/([^/]+))",
      guard([&catalog, tiles](const Principal& who, const Request& request, Response& response) {
        ASSIGN_OR_RETURN(const SavedDocument dashboard,
                         catalog.GetDocument(who, kDashboard, request.matches[1].str()));
        ASSIGN_OR_RETURN(
            const TileRunner::Answer answer,
            tiles->Run(who, dashboard, request.matches[2].str(), ParameterValues(request)));
        SendJsonWithRows(response, answer.head, answer.rows);
        return absl::OkStatus();
      }));

  // --- Shared links: no session; the token opens one dashboard, read-only. ---
  // A link opens the dashboard it was made for, not one made later under the same name (whose
  // versions start after the deletion of the first).
  const auto shared = [&catalog](const Request& request) -> absl::StatusOr<SavedDocument> {
    const Principal reader{"share", false};
    const absl::Status ended = absl::NotFoundError("this share link does not exist or was stopped");
    absl::StatusOr<SavedDocument> share =
        catalog.GetDocument(reader, kShare, ShareKey(request.matches[1].str()));
    if (absl::IsNotFound(share.status())) return ended;
    RETURN_IF_ERROR(share.status());
    const json& link = share->definition;
    const std::string name = link.value("dashboard", "");
    absl::StatusOr<int64_t> first = FirstVersion(catalog, reader, name);
    if (absl::IsNotFound(first.status())) return ended;
    RETURN_IF_ERROR(first.status());
    const auto made_for = link.find("first_version");
    if (made_for == link.end() || !made_for->is_number_integer() ||
        made_for->get<int64_t>() != *first) {
      return ended;
    }
    return catalog.GetDocument(reader, kDashboard, name);
  };
  const auto send_error = [](Response& response, const absl::Status& status) {
    response.status = HttpStatusFor(status.code());
    response.set_content(ErrorJson(status), "application/json");
  };
  server.Get(R"(/api/v1/shared/([0-9a-f]{64}))",
             [shared, send_error](const Request& request, Response& response) {
               const absl::StatusOr<SavedDocument> dashboard = shared(request);
               if (!dashboard.ok()) return send_error(response, dashboard.status());
               json out = Stamp(*dashboard);
               out["definition"] = dashboard->definition;
               SendJsonAnswer(response, out);
             });
  auto limit = std::make_shared<SharedRunLimit>();
  server.Get(R"(/api/v1/shared/([0-9a-f]{64})/tiles/([^/]+))",
             [shared, send_error, tiles, limit](const Request& request, Response& response) {
               const absl::StatusOr<SavedDocument> dashboard = shared(request);
               if (!dashboard.ok()) return send_error(response, dashboard.status());
               const absl::Status admitted = limit->Enter();
               if (!admitted.ok()) {
                 response.set_header("Retry-After", "2");
                 return send_error(response, admitted);
               }
               const absl::StatusOr<TileRunner::Answer> answer =
                   tiles->Run(Principal{"share:" + dashboard->name, false}, *dashboard,
                              request.matches[2].str(), ParameterValues(request));
               limit->Leave();
               if (!answer.ok()) return send_error(response, answer.status());
               SendJsonWithRows(response, answer->head, answer->rows);
             });
}

}  // namespace loch
