#pragma once
// QueryService: the one path every front end's queries take (HTTP, Athena, PostgreSQL), below
// all of them: workgroup limits, the query history, result spooling and failure reports.
//
// Two ways in. Submit (HTTP, Athena) runs a query off the request path on the service's workers
// and keeps its first rows for paging. Stream (PostgreSQL) hands the caller a cursor to drive
// itself, so a client reads a result of any size at its own pace. Both parse and bind the query
// at once (no execution), so a syntax, binding or permission error is FAILED by the time they
// return. A successful query's full result is also written as CSV to the lake's results zone
// (`results/<workgroup>/<id>.csv`, result_spool.h) when a store is given.
//
// Every query belongs to a workgroup (see WorkgroupConfig in catalog/model.h), read from the
// catalog at submission: its timeout and bytes-scanned limit apply to the query, at most
// `max_concurrent` of its queries run at once (the others wait in QUEUED, in submission order),
// and its failure webhook hears of each failed query (through `on_failed`).
// Queries wait in a FIFO queue (bounded: Submit fails with ResourceExhausted when it is full) and
// run on `max_running` worker threads. Each query has a state (QUEUED -> RUNNING -> SUCCEEDED |
// FAILED | CANCELLED), timings, the principal who asked, and up to `max_rows_kept` result rows (a
// result cut there is marked truncated). The newest `history` queries are remembered in memory;
// every finished query is also kept in the catalog's query history (Catalog::RecordQuery), which
// Describe and List read for queries that are no longer in memory (after a restart, or the CLI's).
// Thread-safe.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "query/result_spool.h"

namespace loch {

enum class QueryState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
const char* QueryStateName(QueryState state);

struct QueryInfo {
  std::string id;
  std::string sql;
  std::string principal;
  std::string workgroup;
  std::string front_end;  // "http", "athena", "postgresql": who submitted it
  QueryState state = QueryState::kQueued;
  int64_t submitted_micros = 0;
  int64_t started_micros = 0;
  int64_t finished_micros = 0;
  int64_t row_count = 0;
  int64_t bytes_scanned = 0;  // see QueryCursor::bytes_scanned
  bool truncated = false;
  absl::Status error;      // for FAILED and CANCELLED
  std::string result_key;  // the CSV in the lake's results zone, once written
};

// The history's record of a finished query, and back (a record's query has no rows in memory).
QueryRecord ToRecord(const QueryInfo& info);
QueryInfo FromRecord(const QueryRecord& record);

struct QueryServiceOptions {
  int max_running = 2;
  size_t max_queued = 256;
  size_t max_rows_kept = 100000;  // per query, for paging
  size_t history = 1000;          // queries remembered (state, timings, error)
  size_t results_in_memory = 20;  // finished queries whose rows stay in memory; older ones point to
                                  // their CSV in the results zone. Bounds memory under any load.
  std::chrono::milliseconds timeout{300000};  // per query; 0: none
  std::string temp_dir = "/tmp";              // results are spooled here before upload
  // A result of more CSV than this is not saved to the results zone (ResultSpool), so one query
  // cannot fill the local disk.
  uint64_t max_saved_result_bytes = uint64_t{1} << 30;
  // Called (outside any lock, on the thread that saw it fail) for each query that ends FAILED, with
  // its workgroup's configuration. May be empty.
  std::function<void(const QueryInfo&, const WorkgroupConfig&)> on_failed;
};

struct ResultPage {
  std::vector<ResultColumn> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::optional<size_t> next_offset;  // nullopt on the last page
};

class QueryService {
 public:
  // `results` (may be null: results are then kept in memory only) and `catalog` (workgroups) must
  // outlive the service.
  QueryService(LakeEngine& engine, Catalog& catalog, ObjectStore* results,
               QueryServiceOptions options);
  ~QueryService();  // cancels running queries and joins the workers

  // Checks and queues `sql` for `who` in `workgroup`; returns the query's id (FAILED already if the
  // SQL is wrong or would scan more than the workgroup allows). NotFound for an unknown workgroup,
  // ResourceExhausted if the queue is full.
  absl::StatusOr<std::string> Submit(const Principal& who, std::string sql,
                                     const std::string& workgroup = WorkgroupConfig::kPrimary,
                                     const std::string& front_end = "http");

  // For front ends that stream a result to their client themselves: checks and binds `sql` (with
  // `parameters`) for `who` in `workgroup` and returns a cursor for the caller to drive, or the
  // error (the failed query is in the history and its workgroup's webhook hears of it, as for
  // Submit). The cursor's first Next() waits until the workgroup may run another query (Cancel()
  // ends the wait) and the workgroup's timeout counts from then; rows are spooled to the results
  // zone as they pass; the end of the result (or a failure, a cancellation, or the cursor's
  // destruction before the end: CANCELLED) finishes the query in the history. The cursor must not
  // outlive the service.
  struct Streamed {
    std::string id;
    std::unique_ptr<QueryCursor> cursor;
  };
  // A running streamed query whose timeout passed while its client was not reading (an idle
  // portal) gives its workgroup slot back then; the engine stopped it at its timeout, so its
  // client's next read fails with DeadlineExceeded (a write that ended meanwhile succeeds).
  //
  // With `describe_only` (the result's shape asked for with NULLs in place of parameters the
  // client has not sent yet), a statement that fails to bind is not a failed query: the NULLs
  // may be what failed. It is neither kept in the history nor reported.
  absl::StatusOr<Streamed> Stream(const Principal& who, std::string sql,
                                  const std::string& workgroup,
                                  std::vector<QueryParameter> parameters,
                                  const std::string& front_end, bool describe_only = false);
  // OK if `who` may run queries in `workgroup`; NotFound (listing the workgroups) otherwise.
  absl::Status CheckWorkgroup(const Principal& who, const std::string& workgroup);

  // The query's current state. NotFound for an unknown (or forgotten) id.
  absl::StatusOr<QueryInfo> Describe(const std::string& id);
  // Blocks until the query finished or `deadline` passed; returns its state then.
  absl::StatusOr<QueryInfo> Wait(const std::string& id,
                                 std::chrono::steady_clock::time_point deadline);
  // Rows [offset, offset + limit) of a SUCCEEDED query. FailedPrecondition if it has not succeeded,
  // if its rows left memory, or if they were streamed to their client (the message names its CSV
  // in the results zone).
  absl::StatusOr<ResultPage> Results(const std::string& id, size_t offset, size_t limit);
  // Cancels a queued or running query; a finished query is left as it is. NotFound for unknown ids.
  absl::StatusOr<QueryInfo> Cancel(const std::string& id);
  // The most recent queries (of `workgroup` if not empty), newest first.
  std::vector<QueryInfo> List(size_t limit, const std::string& workgroup = "");

 private:
  struct Query {
    QueryInfo info;
    Principal who;
    WorkgroupConfig workgroup;
    std::vector<ResultColumn> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::unique_ptr<QueryCursor> owned_cursor;  // prepared at Submit (streamed: the caller's)
    QueryCursor* cursor = nullptr;              // while queued or running, for Cancel
    bool streamed = false;                      // rows went to the caller, none kept here
    bool cancel_requested = false;
    bool rows_released = false;            // rows dropped from memory (see results_in_memory)
    std::chrono::milliseconds timeout{0};  // 0: none
    std::chrono::steady_clock::time_point deadline;  // while RUNNING with a timeout
    bool reading = false;                            // a streamed query's client is in Next()
    bool slot_released = false;  // given back while its client was away past the deadline
  };
  class StreamedCursor;

  // A new query in the history with its prepared engine cursor (or FAILED, and reported, if
  // preparing failed: the cursor is then null). A submitted query keeps its cursor and is queued
  // for the workers; a streamed one's cursor is returned for the caller to own.
  struct Registered {
    std::shared_ptr<Query> query;
    std::unique_ptr<QueryCursor> cursor;  // streamed queries only
  };
  absl::StatusOr<Registered> Register(const Principal& who, std::string sql,
                                      const std::string& workgroup_name,
                                      std::vector<QueryParameter> parameters,
                                      const std::string& front_end, bool streamed,
                                      bool describe_only = false);
  // Drops a streamed query that was never executed (only described) from the history.
  void Forget(const Query& query);
  // Waits until the query's workgroup may run another one (or it was cancelled, or the service
  // stops), then makes it RUNNING. False if it will not run. Holds `lock` on mu_.
  bool AwaitSlot(std::unique_lock<std::mutex>& lock, Query& query);
  // Marks the query RUNNING and takes a slot of its workgroup. Holds mu_.
  void MarkRunning(Query& query);
  void Work();
  // Gives back the workgroup slots of streamed queries whose deadline passed while their clients
  // were not reading; sleeps until the next deadline or a change. Until stopping_.
  void ReleaseSlotsOfIdleStreams();
  // The oldest queued query whose workgroup may start another one; null if none. Holds mu_.
  std::shared_ptr<Query> NextRunnable();
  void Run(const std::shared_ptr<Query>& query);
  // Ends the query (slot, history, webhook); a query that already ended is left as it is.
  void Finish(Query& query, QueryState state, absl::Status error);
  void ReportFailure(const Query& query);
  // Keeps the finished query in the catalog's history (a failure to is logged, not returned).
  void Persist(const QueryInfo& info);

  // A spool for the query's result when there is a results zone (else null).
  std::unique_ptr<ResultSpool> NewSpool(const Query& query);
  // Publishes a finished spool and records its key in the query.
  void PublishResult(Query& query, ResultSpool& spool);

  LakeEngine& engine_;
  Catalog& catalog_;
  ObjectStore* results_;
  QueryServiceOptions options_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Query>> queries_;
  std::deque<std::string> order_;          // ids, oldest first (history)
  std::deque<std::string> queue_;          // ids waiting to run, FIFO
  std::deque<std::string> with_rows_;      // finished queries still holding rows, oldest first
  std::set<std::string> evict_when_done_;  // ids that left the history while still active
  std::map<std::string, int> running_by_workgroup_;
  std::set<std::shared_ptr<Query>> streams_with_deadline_;  // running, slot not yet released
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::thread slot_releaser_;  // ReleaseSlotsOfIdleStreams
};

}  // namespace loch
