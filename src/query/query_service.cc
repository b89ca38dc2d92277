#include "query/query_service.h"

#include <algorithm>

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
  slot_releaser_ = std::thread([this] { ReleaseSlotsOfIdleStreams(); });
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
  slot_releaser_.join();
}

absl::StatusOr<QueryService::Registered> QueryService::Register(
    const Principal& who, std::string sql, const std::string& workgroup_name,
    std::vector<QueryParameter> parameters, const std::string& front_end, bool streamed,
    bool describe_only) {
  const bool queue = !streamed;
  ASSIGN_OR_RETURN(WorkgroupConfig workgroup, catalog_.GetWorkgroup(who, workgroup_name));
  if (queue) {
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
  query->info.front_end = front_end;
  query->info.submitted_micros = NowMicros();
  query->who = who;
  query->workgroup = workgroup;
  query->streamed = streamed;
  QueryOptions options;
  options.timeout =
      workgroup.timeout_ms > 0 ? std::chrono::milliseconds(workgroup.timeout_ms) : options_.timeout;
  options.max_bytes_scanned = workgroup.max_bytes_scanned;
  options.parameters = std::move(parameters);
  query->timeout = options.timeout;
  auto prepared = engine_.Query(who, query->info.sql, options);  // parse and bind; nothing runs yet
  if (!prepared.ok() && describe_only) return prepared.status();
  if (!prepared.ok()) {
    query->info.state = QueryState::kFailed;
    query->info.error = prepared.status();
    query->info.finished_micros = NowMicros();
    ReportFailure(*query);
    Persist(query->info);
  }
  Registered registered{query, nullptr};
  std::lock_guard lock(mu_);
  queries_[query->info.id] = query;
  order_.push_back(query->info.id);
  if (prepared.ok()) {
    query->info.bytes_scanned = (*prepared)->bytes_scanned();
    query->cursor = prepared->get();
    if (queue) {
      query->owned_cursor = std::move(*prepared);
      queue_.push_back(query->info.id);
    } else {
      registered.cursor = std::move(*prepared);
    }
  }
  while (order_.size() > options_.history) {
    auto oldest = queries_.find(order_.front());
    if (oldest != queries_.end()) {
      const QueryState state = oldest->second->info.state;
      if (state != QueryState::kQueued && state != QueryState::kRunning) {
        queries_.erase(oldest);
      } else {
        evict_when_done_.insert(order_.front());  // Finish (or Forget) erases it
      }
    }
    order_.pop_front();
  }
  changed_.notify_all();
  return registered;
}

void QueryService::Forget(const Query& query) {
  std::lock_guard lock(mu_);
  evict_when_done_.erase(query.info.id);
  queries_.erase(query.info.id);  // its id in order_ is skipped, then trimmed
}

absl::StatusOr<std::string> QueryService::Submit(const Principal& who, std::string sql,
                                                 const std::string& workgroup,
                                                 const std::string& front_end) {
  ASSIGN_OR_RETURN(Registered registered,
                   Register(who, std::move(sql), workgroup, {}, front_end, /*streamed=*/false));
  return registered.query->info.id;
}

// The cursor Stream hands out: the engine's cursor, with the query's slot, history and spool.
class QueryService::StreamedCursor final : public QueryCursor {
 public:
  StreamedCursor(QueryService& service, std::shared_ptr<Query> query,
                 std::unique_ptr<QueryCursor> cursor)
      : service_(service),
        query_(std::move(query)),
        cursor_(std::move(cursor)),
        columns_(cursor_->columns()) {}
  ~StreamedCursor() override {
    if (started_ && !finished_) {
      End(absl::CancelledError("the client closed the result before reading all of it"));
    }
    {
      std::lock_guard lock(service_.mu_);
      query_->cursor = nullptr;  // the engine cursor goes with this one
    }
    // Only described (its result's shape asked for), never executed: not a query that ran.
    if (!started_) service_.Forget(*query_);
  }

  const std::vector<ResultColumn>& columns() const override { return columns_; }
  int64_t bytes_scanned() const override { return query_->info.bytes_scanned; }

  absl::StatusOr<std::optional<ResultChunk>> Next() override {
    if (finished_) return std::optional<ResultChunk>();
    if (!started_) RETURN_IF_ERROR(Start());
    {
      std::lock_guard lock(service_.mu_);
      query_->reading = true;  // not idle: the service leaves its slot alone
    }
    absl::StatusOr<std::optional<ResultChunk>> chunk = cursor_->Next();
    if (!chunk.ok() || !chunk->has_value()) {
      const absl::Status status = chunk.status();
      End(status);  // still reading: the slot is not given back twice
      if (!status.ok()) return status;
      return chunk;
    }
    if (spool_) spool_->Append(**chunk);
    bool overdue = false;
    {
      std::lock_guard lock(service_.mu_);
      query_->info.row_count += static_cast<int64_t>((*chunk)->row_count);
      query_->reading = false;
      overdue = query_->timeout.count() > 0 && std::chrono::steady_clock::now() >= query_->deadline;
    }
    if (overdue) service_.changed_.notify_all();  // its slot may be given back now
    return chunk;
  }

  void Cancel() override {
    {
      std::lock_guard lock(service_.mu_);
      query_->cancel_requested = true;
      if (query_->cursor != nullptr) query_->cursor->Cancel();
    }
    service_.changed_.notify_all();  // ends a wait for a slot
  }

 private:
  absl::Status Start() {
    started_ = true;
    {
      std::unique_lock lock(service_.mu_);
      if (!service_.AwaitSlot(lock, *query_)) {
        finished_ = true;
        lock.unlock();
        absl::Status cancelled = absl::CancelledError("the query was cancelled before it started");
        service_.Finish(*query_, QueryState::kCancelled, cancelled);
        return cancelled;
      }
    }
    service_.changed_.notify_all();
    spool_ = service_.NewSpool(*query_);
    if (spool_) spool_->WriteHeader(columns());
    return absl::OkStatus();
  }

  // Finishes the query: its spool published (after a complete result), its slot given back.
  void End(const absl::Status& status) {
    finished_ = true;
    {
      std::lock_guard lock(service_.mu_);
      query_->cursor = nullptr;
    }
    if (status.ok() && spool_) service_.PublishResult(*query_, *spool_);
    spool_.reset();
    cursor_.reset();  // releases the DuckDB connection; stops a result left halfway
    const QueryState state = status.ok()                 ? QueryState::kSucceeded
                             : absl::IsCancelled(status) ? QueryState::kCancelled
                                                         : QueryState::kFailed;
    service_.Finish(*query_, state, status);
  }

  QueryService& service_;
  std::shared_ptr<Query> query_;
  std::unique_ptr<QueryCursor> cursor_;  // the engine's; query_->cursor points to it while live
  const std::vector<ResultColumn> columns_;
  std::unique_ptr<ResultSpool> spool_;
  bool started_ = false;
  bool finished_ = false;
};

absl::StatusOr<QueryService::Streamed> QueryService::Stream(const Principal& who, std::string sql,
                                                            const std::string& workgroup,
                                                            std::vector<QueryParameter> parameters,
                                                            const std::string& front_end,
                                                            bool describe_only) {
  ASSIGN_OR_RETURN(Registered registered,
                   Register(who, std::move(sql), workgroup, std::move(parameters), front_end,
                            /*streamed=*/true, describe_only));
  if (registered.cursor == nullptr) return registered.query->info.error;
  const std::string id = registered.query->info.id;
  return Streamed{id, std::make_unique<StreamedCursor>(*this, std::move(registered.query),
                                                       std::move(registered.cursor))};
}

bool QueryService::AwaitSlot(std::unique_lock<std::mutex>& lock, Query& query) {
  const WorkgroupConfig& workgroup = query.workgroup;
  changed_.wait(lock, [&] {
    return stopping_ || query.cancel_requested || query.info.state != QueryState::kQueued ||
           workgroup.max_concurrent <= 0 ||
           running_by_workgroup_[workgroup.name] < workgroup.max_concurrent;
  });
  if (stopping_ || query.cancel_requested || query.info.state != QueryState::kQueued) return false;
  MarkRunning(query);
  return true;
}

void QueryService::MarkRunning(Query& query) {
  query.info.state = QueryState::kRunning;
  query.info.started_micros = NowMicros();
  ++running_by_workgroup_[query.workgroup.name];
  auto shared = queries_.find(query.info.id);
  if (query.streamed && query.timeout.count() > 0 && shared != queries_.end()) {
    query.deadline = std::chrono::steady_clock::now() + query.timeout;
    streams_with_deadline_.insert(shared->second);
  }
}

void QueryService::ReleaseSlotsOfIdleStreams() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    auto next = std::chrono::steady_clock::time_point::max();
    bool released = false;
    for (auto it = streams_with_deadline_.begin(); it != streams_with_deadline_.end();) {
      Query& query = **it;
      if (query.reading) {
        // Its reader notifies when it returns past the deadline; before then, this thread looks
        // again at the deadline (the reader may have returned by then without notifying).
        if (query.deadline > now) next = std::min(next, query.deadline);
        ++it;
      } else if (query.deadline <= now) {
        --running_by_workgroup_[query.workgroup.name];
        query.slot_released = true;
        released = true;
        it = streams_with_deadline_.erase(it);
      } else {
        next = std::min(next, query.deadline);
        ++it;
      }
    }
    if (released) {
      lock.unlock();
      changed_.notify_all();  // queries waiting for those slots
      lock.lock();
      continue;
    }
    if (next == std::chrono::steady_clock::time_point::max()) {
      changed_.wait(lock);
    } else {
      changed_.wait_until(lock, next);
    }
  }
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
      MarkRunning(*query);
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
  // The whole result is spooled for the results zone; the first rows stay in memory.
  std::unique_ptr<ResultSpool> spool = NewSpool(*query);
  if (spool) spool->WriteHeader(query->columns);
  absl::Status status;
  while (true) {
    auto chunk = cursor.Next();
    if (!chunk.ok()) {
      status = chunk.status();
      break;
    }
    if (!chunk->has_value()) break;
    if (spool) spool->Append(**chunk);
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
  {
    std::lock_guard lock(mu_);
    query->cursor = nullptr;
  }
  if (status.ok() && spool) PublishResult(*query, *spool);
  spool.reset();
  query->owned_cursor.reset();  // releases the DuckDB connection before the state changes
  if (status.ok()) return Finish(*query, QueryState::kSucceeded, status);
  Finish(*query, absl::IsCancelled(status) ? QueryState::kCancelled : QueryState::kFailed, status);
}

std::unique_ptr<ResultSpool> QueryService::NewSpool(const Query& query) {
  if (results_ == nullptr) return nullptr;
  return std::make_unique<ResultSpool>(
      fmt::format("{}/loch-result-{}.csv", options_.temp_dir, query.info.id),
      options_.max_saved_result_bytes);
}

void QueryService::PublishResult(Query& query, ResultSpool& spool) {
  const std::string key = ResultKey(query.info.workgroup, query.info.id);
  const absl::Status published = spool.Publish(*results_, key);
  if (!published.ok()) {
    spdlog::warn("query {}: its results could not be written to the lake: {}", query.info.id,
                 ToStd(published.message()));
    return;
  }
  std::lock_guard lock(mu_);
  query.info.result_key = key;
}

void QueryService::Finish(Query& query, QueryState state, absl::Status error) {
  QueryInfo finished;
  {
    std::lock_guard lock(mu_);
    const QueryState now = query.info.state;
    if (now != QueryState::kQueued && now != QueryState::kRunning) {  // ended already (cancelled
      if (evict_when_done_.erase(query.info.id) > 0) queries_.erase(query.info.id);  // queued)
      return;
    }
    if (now == QueryState::kRunning && !query.slot_released)
      --running_by_workgroup_[query.workgroup.name];
    std::erase_if(streams_with_deadline_,
                  [&](const std::shared_ptr<Query>& running) { return running.get() == &query; });
    query.info.state = state;
    query.info.error = std::move(error);
    query.info.finished_micros = NowMicros();
    finished = query.info;
  }
  // Kept before anyone waiting hears of the end, and before memory forgets the query: whoever
  // looks it up next finds it in one place or the other.
  Persist(finished);
  {
    std::lock_guard lock(mu_);
    if (evict_when_done_.erase(query.info.id) > 0) queries_.erase(query.info.id);
    if (state == QueryState::kSucceeded && !query.streamed) {
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

void QueryService::Persist(const QueryInfo& info) {
  absl::Status recorded = catalog_.RecordQuery(Principal::LocalAdmin(), ToRecord(info));
  if (!recorded.ok())
    spdlog::warn("query {}: not kept in the history: {}", info.id, ToStd(recorded.message()));
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

absl::Status QueryService::CheckWorkgroup(const Principal& who, const std::string& workgroup) {
  return catalog_.GetWorkgroup(who, workgroup).status();
}

absl::StatusOr<QueryInfo> QueryService::Describe(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = queries_.find(id);
    if (it != queries_.end()) return it->second->info;
  }
  // Finished before this server started (or forgotten since): the history has it.
  ASSIGN_OR_RETURN(std::vector<QueryRecord> kept,
                   catalog_.ListQueries(Principal::LocalAdmin(), 1, id));
  if (kept.empty()) return absl::NotFoundError(fmt::format("no query with id \"{}\"", id));
  return FromRecord(kept.front());
}

absl::StatusOr<QueryInfo> QueryService::Wait(const std::string& id,
                                             std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  auto it = queries_.find(id);
  if (it == queries_.end()) {
    lock.unlock();
    return Describe(id);  // finished before (the history has it), or unknown
  }
  std::shared_ptr<Query> query = it->second;
  changed_.wait_until(lock, deadline, [&] {
    return query->info.state != QueryState::kQueued && query->info.state != QueryState::kRunning;
  });
  return query->info;
}

absl::StatusOr<ResultPage> QueryService::Results(const std::string& id, size_t offset,
                                                 size_t limit) {
  std::unique_lock lock(mu_);
  auto it = queries_.find(id);
  if (it == queries_.end()) {
    lock.unlock();
    ASSIGN_OR_RETURN(QueryInfo kept, Describe(id));  // NotFound if the history lacks it too
    if (kept.state != QueryState::kSucceeded) {
      return absl::FailedPreconditionError(
          fmt::format("query {} is {}: results exist only for SUCCEEDED queries", id,
                      QueryStateName(kept.state)));
    }
    return absl::FailedPreconditionError(fmt::format(
        "the rows of query {} are no longer kept in memory; its whole result is in the lake at {}",
        id, kept.result_key.empty() ? "(nowhere: it was not written)" : kept.result_key));
  }
  const Query& query = *it->second;
  if (query.info.state != QueryState::kSucceeded) {
    return absl::FailedPreconditionError(
        fmt::format("query {} is {}: results exist only for SUCCEEDED queries", id,
                    QueryStateName(query.info.state)));
  }
  if (query.streamed) {
    return absl::FailedPreconditionError(fmt::format(
        "query {} sent its rows to its client as they came ({}); its whole result is in the lake "
        "at {}",
        id, query.info.front_end,
        query.info.result_key.empty() ? "(nowhere: it was not written)" : query.info.result_key));
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
  std::optional<QueryInfo> cancelled_queued;
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
      cancelled_queued = query.info;
    } else if (query.info.state == QueryState::kRunning) {
      query.cancel_requested = true;
      if (query.cursor != nullptr) query.cursor->Cancel();
    }
  }
  if (cancelled_queued) Persist(*cancelled_queued);  // it never reaches Finish
  changed_.notify_all();
  return Describe(id);
}

std::vector<QueryInfo> QueryService::List(size_t limit, const std::string& workgroup) {
  std::vector<QueryInfo> infos;
  std::set<std::string> listed;
  {
    std::lock_guard lock(mu_);
    for (auto it = order_.rbegin(); it != order_.rend() && infos.size() < limit; ++it) {
      auto query = queries_.find(*it);
      if (query == queries_.end()) continue;
      if (!workgroup.empty() && query->second->info.workgroup != workgroup) continue;
      infos.push_back(query->second->info);
      listed.insert(query->second->info.id);
    }
  }
  if (infos.size() >= limit) return infos;
  // Then the kept history: earlier servers' queries and the CLI's, newest first.
  auto kept = catalog_.ListQueries(Principal::LocalAdmin(), Catalog::kQueryHistoryKept);
  if (!kept.ok()) return infos;
  std::vector<QueryInfo> older;
  for (const QueryRecord& record : *kept) {
    if (listed.contains(record.id) || (!workgroup.empty() && record.workgroup != workgroup))
      continue;
    older.push_back(FromRecord(record));
  }
  infos.insert(infos.end(), older.begin(), older.end());
  // Newest first by submission: ids are time-ordered, but the CLI's and the server's interleave.
  std::stable_sort(infos.begin(), infos.end(), [](const QueryInfo& a, const QueryInfo& b) {
    return a.submitted_micros > b.submitted_micros;
  });
  if (infos.size() > limit) infos.resize(limit);
  return infos;
}

QueryRecord ToRecord(const QueryInfo& info) {
  return QueryRecord{info.id,
                     info.sql,
                     info.principal,
                     info.workgroup,
                     info.front_end,
                     QueryStateName(info.state),
                     info.submitted_micros,
                     info.started_micros,
                     info.finished_micros,
                     info.row_count,
                     info.bytes_scanned,
                     static_cast<int>(info.error.code()),
                     std::string(ToStd(info.error.message())),
                     info.result_key};
}

QueryInfo FromRecord(const QueryRecord& record) {
  QueryInfo info;
  info.id = record.id;
  info.sql = record.sql;
  info.principal = record.principal;
  info.workgroup = record.workgroup;
  info.front_end = record.front_end;
  info.state = record.state == "SUCCEEDED"   ? QueryState::kSucceeded
               : record.state == "CANCELLED" ? QueryState::kCancelled
                                             : QueryState::kFailed;
  info.submitted_micros = record.submitted_micros;
  info.started_micros = record.started_micros;
  info.finished_micros = record.finished_micros;
  info.row_count = record.row_count;
  info.bytes_scanned = record.bytes_scanned;
  if (record.error_code != 0 || !record.error.empty()) {
    const int code = record.error_code > 0 && record.error_code <= 16 ? record.error_code : 2;
    info.error = absl::Status(static_cast<absl::StatusCode>(code), record.error);
  }
  info.result_key = record.result_key;
  return info;
}

}  // namespace loch
