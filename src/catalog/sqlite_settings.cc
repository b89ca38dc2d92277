#include "catalog/sqlite_settings.h"

#include <algorithm>

#include "catalog/sqlite_db.h"
#include "catalog/sqlite_journal.h"
#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

SavedCrawler CrawlerFromRow(const Statement& row) {
  return SavedCrawler{row.Text(0), nlohmann::json::parse(row.Text(1), nullptr, false), row.Int(2)};
}

constexpr const char* kStreamColumns =
    "SELECT name, config, created_micros, delivered_through FROM streams";
SavedStream StreamFromRow(const Statement& row) {
  return SavedStream{row.Text(0), nlohmann::json::parse(row.Text(1), nullptr, false), row.Int(2),
                     row.Int(3)};
}

WorkgroupConfig WorkgroupFromRow(const Statement& row) {
  const nlohmann::json json = nlohmann::json::parse(row.Text(1), nullptr, false);
  WorkgroupConfig config = WorkgroupConfig::Named(row.Text(0));
  if (!json.is_object()) return config;
  config.description = json.value("description", "");
  config.timeout_ms = json.value("timeout_ms", int64_t{0});
  config.max_concurrent = json.value("max_concurrent", 0);
  config.max_bytes_scanned = json.value("max_bytes_scanned", int64_t{0});
  config.failure_webhook = json.value("failure_webhook", "");
  return config;
}

}  // namespace

absl::Status SqliteSettings::PutWorkgroup(const WorkgroupConfig& config) {
  RETURN_IF_ERROR(ValidateIdentifier(config.name, "workgroup"));
  if (config.timeout_ms < 0 || config.max_concurrent < 0 || config.max_bytes_scanned < 0) {
    return absl::InvalidArgumentError("workgroup limits cannot be negative");
  }
  if (!config.failure_webhook.empty() && !config.failure_webhook.starts_with("http://") &&
      !config.failure_webhook.starts_with("https://")) {
    return absl::InvalidArgumentError(fmt::format(
        "failure webhook \"{}\" must be an http:// or https:// URL", config.failure_webhook));
  }
  const nlohmann::json json = {{"description", config.description},
                               {"timeout_ms", config.timeout_ms},
                               {"max_concurrent", config.max_concurrent},
                               {"max_bytes_scanned", config.max_bytes_scanned},
                               {"failure_webhook", config.failure_webhook}};
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement upsert(db_, "INSERT OR REPLACE INTO workgroups(name, config) VALUES (?, ?)");
  RETURN_IF_ERROR(upsert.Bind(1, config.name).Bind(2, json.dump()).Run());
  return txn.Commit();
}

absl::StatusOr<WorkgroupConfig> SqliteSettings::GetWorkgroup(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    Statement query(db_, "SELECT name, config FROM workgroups WHERE name = ?");
    query.Bind(1, name);
    if (query.Step()) return WorkgroupFromRow(query);
    RETURN_IF_ERROR(query.status());
  }
  if (name == WorkgroupConfig::kPrimary) return WorkgroupConfig::Named(WorkgroupConfig::kPrimary);
  ASSIGN_OR_RETURN(std::vector<WorkgroupConfig> all, ListWorkgroups());
  std::vector<std::string> names;
  for (const WorkgroupConfig& workgroup : all) names.push_back(workgroup.name);
  return absl::NotFoundError(
      fmt::format("unknown workgroup \"{}\"; workgroups: {}", name, Join(names, ", ")));
}

absl::StatusOr<std::vector<WorkgroupConfig>> SqliteSettings::ListWorkgroups() {
  std::lock_guard lock(mu_);
  Statement query(db_, "SELECT name, config FROM workgroups ORDER BY name");
  std::vector<WorkgroupConfig> workgroups;
  bool primary_stored = false;
  while (query.Step()) {
    workgroups.push_back(WorkgroupFromRow(query));
    primary_stored = primary_stored || workgroups.back().name == WorkgroupConfig::kPrimary;
  }
  RETURN_IF_ERROR(query.status());
  if (!primary_stored) {
    workgroups.push_back(WorkgroupConfig::Named(WorkgroupConfig::kPrimary));
    std::sort(workgroups.begin(), workgroups.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
  }
  return workgroups;
}

absl::Status SqliteSettings::DeleteWorkgroup(std::string_view name) {
  if (name == WorkgroupConfig::kPrimary) {
    return absl::FailedPreconditionError("the primary workgroup cannot be deleted");
  }
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement remove(db_, "DELETE FROM workgroups WHERE name = ?");
  RETURN_IF_ERROR(remove.Bind(1, name).Run());
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(fmt::format("unknown workgroup \"{}\"", name));
  }
  return txn.Commit();
}

absl::Status SqliteSettings::PutCrawler(const SavedCrawler& crawler, bool replace) {
  RETURN_IF_ERROR(ValidateIdentifier(crawler.name, "crawler"));
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement insert(db_, replace ? "INSERT INTO crawlers(name, config, created_micros) VALUES "
                                  "(?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET config = ?2"
                                : "INSERT INTO crawlers(name, config, created_micros) VALUES "
                                  "(?1, ?2, ?3) ON CONFLICT DO NOTHING");
  RETURN_IF_ERROR(
      insert.Bind(1, crawler.name).Bind(2, crawler.config.dump()).Bind(3, NowMicros()).Run());
  if (!replace && sqlite3_changes(db_) == 0) {
    return absl::AlreadyExistsError(fmt::format("crawler \"{}\" already exists", crawler.name));
  }
  return txn.Commit();
}

absl::StatusOr<SavedCrawler> SqliteSettings::GetCrawler(std::string_view name) {
  std::lock_guard lock(mu_);
  Statement query(db_, "SELECT name, config, created_micros FROM crawlers WHERE name = ?");
  query.Bind(1, name);
  if (query.Step()) return CrawlerFromRow(query);
  RETURN_IF_ERROR(query.status());
  return absl::NotFoundError(
      fmt::format("unknown crawler \"{}\" (create it with `loch crawler create`)", name));
}

absl::StatusOr<std::vector<SavedCrawler>> SqliteSettings::ListCrawlers() {
  std::lock_guard lock(mu_);
  Statement query(db_, "SELECT name, config, created_micros FROM crawlers ORDER BY name");
  std::vector<SavedCrawler> crawlers;
  while (query.Step()) crawlers.push_back(CrawlerFromRow(query));
  RETURN_IF_ERROR(query.status());
  return crawlers;
}

absl::Status SqliteSettings::DeleteCrawler(std::string_view name) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement remove(db_, "DELETE FROM crawlers WHERE name = ?");
  RETURN_IF_ERROR(remove.Bind(1, name).Run());
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(fmt::format("unknown crawler \"{}\"", name));
  }
  Statement runs(db_, "DELETE FROM crawler_runs WHERE crawler = ?");
  RETURN_IF_ERROR(runs.Bind(1, name).Run());
  return txn.Commit();
}

absl::StatusOr<int64_t> SqliteSettings::AddCrawlerRun(const CrawlerRun& run) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement insert(db_,
                   "INSERT INTO crawler_runs(crawler, started_micros, finished_micros, status, "
                   "report) VALUES (?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(
      insert.Bind(1, run.crawler)
          .Bind(2, run.started_micros)
          .Bind(3, run.finished_micros)
          .Bind(4, run.status)
          .Bind(5, run.report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
          .Run());
  const int64_t run_id = sqlite3_last_insert_rowid(db_);
  RETURN_IF_ERROR(txn.Commit());
  return run_id;
}

absl::StatusOr<std::vector<CrawlerRun>> SqliteSettings::ListCrawlerRuns(std::string_view crawler,
                                                                        size_t limit) {
  std::lock_guard lock(mu_);
  Statement query(db_,
                  "SELECT run_id, crawler, started_micros, finished_micros, status, report FROM "
                  "crawler_runs WHERE crawler = ? ORDER BY run_id DESC LIMIT ?");
  query.Bind(1, crawler).Bind(2, static_cast<int64_t>(limit));
  std::vector<CrawlerRun> runs;
  while (query.Step()) {
    runs.push_back(CrawlerRun{query.Int(0), query.Text(1), query.Int(2), query.Int(3),
                              query.Text(4), nlohmann::json::parse(query.Text(5), nullptr, false)});
  }
  RETURN_IF_ERROR(query.status());
  return runs;
}

absl::StatusOr<SavedStream> SqliteSettings::CreateStream(const SavedStream& stream) {
  if (stream.name.empty() || stream.name.size() > 64) {
    return absl::InvalidArgumentError("a stream name must be 1-64 characters");
  }
  std::lock_guard lock(mu_);
  SavedStream created = stream;
  created.created_micros = NowMicros();
  created.delivered_through = 0;
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement insert(db_,
                   "INSERT INTO streams(name, config, created_micros, delivered_through) VALUES "
                   "(?, ?, ?, 0) ON CONFLICT DO NOTHING");
  RETURN_IF_ERROR(insert.Bind(1, created.name)
                      .Bind(2, created.config.dump())
                      .Bind(3, created.created_micros)
                      .Run());
  if (sqlite3_changes(db_) == 0) {
    return absl::AlreadyExistsError(fmt::format("stream \"{}\" already exists", stream.name));
  }
  RETURN_IF_ERROR(txn.Commit());
  return created;
}

absl::StatusOr<SavedStream> SqliteSettings::GetStream(std::string_view name) {
  std::lock_guard lock(mu_);
  Statement query(db_, std::string(kStreamColumns) + " WHERE name = ?");
  query.Bind(1, name);
  if (query.Step()) return StreamFromRow(query);
  RETURN_IF_ERROR(query.status());
  return absl::NotFoundError(
      fmt::format("unknown stream \"{}\" (create it with `loch stream create`)", name));
}

absl::StatusOr<std::vector<SavedStream>> SqliteSettings::ListStreams() {
  std::lock_guard lock(mu_);
  Statement query(db_, std::string(kStreamColumns) + " ORDER BY name");
  std::vector<SavedStream> streams;
  while (query.Step()) streams.push_back(StreamFromRow(query));
  RETURN_IF_ERROR(query.status());
  return streams;
}

absl::Status SqliteSettings::DeleteStream(std::string_view name) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement remove(db_, "DELETE FROM streams WHERE name = ?");
  RETURN_IF_ERROR(remove.Bind(1, name).Run());
  if (sqlite3_changes(db_) == 0)
    return absl::NotFoundError(fmt::format("unknown stream \"{}\"", name));
  return txn.Commit();
}

absl::Status SqliteSettings::SetStreamDelivered(std::string_view name, int64_t created_micros,
                                                int64_t sequence) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement update(db_,
                   "UPDATE streams SET delivered_through = max(delivered_through, ?) WHERE name "
                   "= ? AND created_micros = ?");
  RETURN_IF_ERROR(update.Bind(1, sequence).Bind(2, name).Bind(3, created_micros).Run());
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(
        fmt::format("stream \"{}\" was deleted or replaced while delivering", name));
  }
  return txn.Commit();
}

}  // namespace loch
