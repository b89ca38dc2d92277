#include "server/query_service.h"

#include <algorithm>
#include <cstdio>

#include "common/clock.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

const char* QueryStateName(QueryState state) {
  switch (state) {
    case QueryState::kQueued:
      return "QUEUED";
    case QueryState::kRunning:
      return "RUNNING";
    case QueryState::kSucceeded:
      return "SUCCEEDED";
    case QueryState::kFailed:
      return "FAILED";
    case QueryState::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

QueryService::QueryService(LakeEngine& engine, Catalog& catalog, ObjectStore* results,
                           QueryServiceOptions options)
    : engine_(engine), catalog_(catalog), results_(results), options_(std::move(options)) {
  for (int i = 0; i < std::max(1, options_.max_running); ++i)
    workers_.emplace_back([this] { Work(); });
}

QueryService::~QueryService() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [id, query] : queries_) {
      if (query->cursor != nullptr) query->cursor->Cancel();
    }
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
}

absl::StatusOr<std::string> QueryService::Submit(const Principal& who, std::string sql,
                                                 const std::string& workgroup_name) {
  ASSIGN_OR_RETURN(WorkgroupConfig workgroup, catalog_.GetWorkgroup(who, workgroup_name));
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queued) {
      return absl::ResourceExhaustedError(fmt::format(
          "{} queries are already waiting; retry when some have finished", queue_.size()));
    }
  }
  auto query = std::make_shared<Query>();
  query->info.id = NewTimeOrderedId();
  query->info.sql = std::move(sql);
  query->info.principal = who.name;
  query->info.workgroup = workgroup.name;
  query->info.submitted_micros = NowMicros();
  query->who = who;
  query->workgroup = workgroup;
  QueryOptions options;
  options.timeout =
      workgroup.timeout_ms > 0 ? std::chrono::milliseconds(workgroup.timeout_ms) : options_.timeout;
  options.max_bytes_scanned = workgroup.max_bytes_scanned;
  auto prepared = engine_.Query(who, query->info.sql, options);  // parse and bind; nothing runs yet
  if (!prepared.ok()) {
    query->info.state = QueryState::kFailed;
    query->info.error = prepared.status();
    query->info.finished_micros = NowMicros();
    ReportFailure(*query);
  }
  std::lock_guard lock(mu_);
  queries_[query->info.id] = query;
  order_.push_back(query->info.id);
  if (prepared.ok()) {
    query->info.bytes_scanned = (*prepared)->bytes_scanned();
    query->owned_cursor = std::move(*prepared);
    query->cursor = query->owned_cursor.get();
    queue_.push_back(query->info.id);
  }
  while (order_.size() > options_.history) {
    auto oldest = queries_.find(order_.front());
    if (oldest != queries_.end() && oldest->second->info.state != QueryState::kQueued &&
        oldest->second->info.state != QueryState::kRunning) {
      queries_.erase(oldest);
    }
    order_.pop_front();
  }
  changed_.notify_all();
  return query->info.id;
}

std::shared_ptr<QueryService::Query> QueryService::NextRunnable() {
  for (auto id = queue_.begin(); id != queue_.end();) {
    auto it = queries_.find(*id);
    if (it == queries_.end() || it->second->info.state != QueryState::kQueued) {
      id = queue_.erase(id);  // cancelled while waiting, or forgotten
      continue;
    }
    const WorkgroupConfig& workgroup = it->second->workgroup;
    if (workgroup.max_concurrent <= 0 ||
        running_by_workgroup_[workgroup.name] < workgroup.max_concurrent) {
      queue_.erase(id);
      return it->second;
    }
    ++id;  // its workgroup is full: later queries of other workgroups may go first
  }
  return nullptr;
}

void QueryService::Work() {
  while (true) {
    std::shared_ptr<Query> query;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return stopping_ || (query = NextRunnable()) != nullptr; });
      if (stopping_) return;
      query->info.state = QueryState::kRunning;
      query->info.started_micros = NowMicros();
      ++running_by_workgroup_[query->workgroup.name];
    }
    changed_.notify_all();
    Run(query);
  }
}

void QueryService::Run(const std::shared_ptr<Query>& query) {
  QueryCursor& cursor = *query->owned_cursor;
  {
    std::lock_guard lock(mu_);
    query->columns = cursor.columns();
    if (query->cancel_requested || stopping_) cursor.Cancel();
  }
  // The whole result is spooled to a CSV file for the results zone; the first rows stay in memory.
  const std::string spool = fmt::format("{}/loch-result-{}.csv", options_.temp_dir, query->info.id);
  std::unique_ptr<FILE, int (*)(FILE*)> out(
      results_ != nullptr ? std::fopen(spool.c_str(), "wb") : nullptr,
      [](FILE* f) { return f != nullptr ? std::fclose(f) : 0; });
  if (out) {
    std::string header;
    for (size_t c = 0; c < query->columns.size(); ++c)
      header += (c ? "," : "") + CellToCsv(query->columns[c].name);
    std::fputs((header + "\n").c_str(), out.get());
  }
  absl::Status status;
  while (true) {
    auto chunk = cursor.Next();
    if (!chunk.ok()) {
      status = chunk.status();
      break;
    }
    if (!chunk->has_value()) break;
    if (out) {
      std::string lines;
      for (size_t r = 0; r < (*chunk)->row_count; ++r) {
        for (size_t c = 0; c < (*chunk)->cells.size(); ++c)
          lines += (c ? "," : "") + CellToCsv((*chunk)->cells[c][r]);
        lines += "\n";
      }
      std::fwrite(lines.data(), 1, lines.size(), out.get());
    }
    std::lock_guard lock(mu_);
    for (size_t r = 0; r < (*chunk)->row_count; ++r) {
      ++query->info.row_count;
      if (query->rows.size() >= options_.max_rows_kept) {
        query->info.truncated = true;
        continue;
      }
      std::vector<std::optional<std::string>> row;
      for (auto& column : (*chunk)->cells) row.push_back(std::move(column[r]));
      query->rows.push_back(std::move(row));
    }
  }
  const bool spooled = out != nullptr && std::fflush(out.get()) == 0;
  out.reset();
  {
    std::lock_guard lock(mu_);
    query->cursor = nullptr;
  }
  if (status.ok() && spooled) {
    auto key = PublishResult(*query, spool);
    if (key.ok()) {
      std::lock_guard lock(mu_);
      query->info.result_key = *key;
    } else {
      spdlog::warn("query {}: its results could not be written to the lake: {}", query->info.id,
                   ToStd(key.status().message()));
    }
  }
  std::remove(spool.c_str());
  query->owned_cursor.reset();  // releases the DuckDB connection before the state changes
  if (status.ok()) return Finish(*query, QueryState::kSucceeded, status);
  Finish(*query, absl::IsCancelled(status) ? QueryState::kCancelled : QueryState::kFailed, status);
}

absl::StatusOr<std::string> QueryService::PublishResult(const Query& query,
                                                        const std::string& spool_path) {
  const std::string key = fmt::format("results/{}/{}.csv", query.info.workgroup, query.info.id);
  RETURN_IF_ERROR(results_->PutFile(key, spool_path));
  return key;
}

void QueryService::Finish(Query& query, QueryState state, absl::Status error) {
  {
    std::lock_guard lock(mu_);
    --running_by_workgroup_[query.workgroup.name];
    query.info.state = state;
    query.info.error = std::move(error);
    query.info.finished_micros = NowMicros();
    if (state == QueryState::kSucceeded) {
      with_rows_.push_back(query.info.id);
      while (with_rows_.size() > options_.results_in_memory) {
        if (auto old = queries_.find(with_rows_.front()); old != queries_.end()) {
          std::vector<std::vector<std::optional<std::string>>>().swap(old->second->rows);
          old->second->rows_released = true;
        }
        with_rows_.pop_front();
      }
    } else {
      query.rows.clear();
    }
  }
  changed_.notify_all();
  if (state == QueryState::kFailed) ReportFailure(query);
}

void QueryService::ReportFailure(const Query& query) {
  if (!options_.on_failed) return;
  QueryInfo info;
  {
    std::lock_guard lock(mu_);
    info = query.info;
  }
  options_.on_failed(info, query.workgroup);
}

absl::StatusOr<QueryInfo> QueryService::Describe(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = queries_.find(id);
  if (it == queries_.end()) return absl::NotFoundError(fmt::format("no query with id \"{}\"", id));
  return it->second->info;
}

absl::StatusOr<QueryInfo> QueryService::Wait(const std::string& id,
                                             std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  auto it = queries_.find(id);
  if (it == queries_.end()) return absl::NotFoundError(fmt::format("no query with id \"{}\"", id));
  std::shared_ptr<Query> query = it->second;
  changed_.wait_until(lock, deadline, [&] {
    return query->info.state != QueryState::kQueued && query->info.state != QueryState::kRunning;
  });
  return query->info;
}

absl::StatusOr<ResultPage> QueryService::Results(const std::string& id, size_t offset,
                                                 size_t limit) {
  std::lock_guard lock(mu_);
  auto it = queries_.find(id);
  if (it == queries_.end()) return absl::NotFoundError(fmt::format("no query with id \"{}\"", id));
  const Query& query = *it->second;
  if (query.info.state != QueryState::kSucceeded) {
    return absl::FailedPreconditionError(
        fmt::format("query {} is {}: results exist only for SUCCEEDED queries", id,
                    QueryStateName(query.info.state)));
  }
  if (query.rows_released) {
    return absl::FailedPreconditionError(fmt::format(
        "the rows of query {} are no longer kept in memory; its whole result is in the lake at {}",
        id,
        query.info.result_key.empty() ? "(nowhere: it could not be written)"
                                      : query.info.result_key));
  }
  ResultPage page;
  page.columns = query.columns;
  const size_t end = std::min(query.rows.size(), offset + limit);
  for (size_t i = std::min(offset, end); i < end; ++i) page.rows.push_back(query.rows[i]);
  if (end < query.rows.size()) page.next_offset = end;
  return page;
}

absl::StatusOr<QueryInfo> QueryService::Cancel(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = queries_.find(id);
    if (it == queries_.end())
      return absl::NotFoundError(fmt::format("no query with id \"{}\"", id));
    Query& query = *it->second;
    if (query.info.state == QueryState::kQueued) {
      query.cursor = nullptr;
      query.owned_cursor.reset();
      query.info.state = QueryState::kCancelled;
      query.info.error = absl::CancelledError("the query was cancelled before it started");
      query.info.finished_micros = NowMicros();
    } else if (query.info.state == QueryState::kRunning) {
      query.cancel_requested = true;
      if (query.cursor != nullptr) query.cursor->Cancel();
    }
  }
  changed_.notify_all();
  return Describe(id);
}

std::vector<QueryInfo> QueryService::List(size_t limit, const std::string& workgroup) {
  std::lock_guard lock(mu_);
  std::vector<QueryInfo> infos;
  for (auto it = order_.rbegin(); it != order_.rend() && infos.size() < limit; ++it) {
    auto query = queries_.find(*it);
    if (query == queries_.end()) continue;
    if (!workgroup.empty() && query->second->info.workgroup != workgroup) continue;
    infos.push_back(query->second->info);
  }
  return infos;
}

}  // namespace loch
