#include "engine/query_cursor.h"

#include <cctype>

#include "common/strings.h"
#include "engine/value_decoder.h"
#include "fmt/format.h"

namespace loch {
namespace {

bool IsNestedKind(duckdb_type type) { return KindOf(type) == ValueKind::kJson; }

}  // namespace

std::string_view TrimStatement(std::string_view sql) {
  while (!sql.empty() &&
         (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';')) {
    sql.remove_suffix(1);
  }
  return sql;
}

absl::Status DuckQueryCursor::Prepare(std::string_view sql,
                                      const std::vector<QueryParameter>& parameters, bool explain) {
  ASSIGN_OR_RETURN(duck::PreparedStatement prepared, connection_.Prepare(sql));
  if (prepared.type() != DUCKDB_STATEMENT_TYPE_SELECT &&
      !(explain && prepared.type() == DUCKDB_STATEMENT_TYPE_EXPLAIN)) {
    return absl::PermissionDeniedError("only queries can run through the query engine");
  }
  std::vector<std::string> projection;
  bool needs_wrap = false;
  for (size_t i = 0; i < prepared.column_count(); ++i) {
    duck::LogicalType type = prepared.column_type(i);
    const duckdb_type id = type.id();
    columns_.push_back(ResultColumn{prepared.column_name(i), type.Name(), KindOf(id)});
    const std::string alias = QuoteIdentifier(columns_.back().name);
    if (IsDirectlyDecodable(id)) {
      projection.push_back(fmt::format("#{} AS {}", i + 1, alias));
      decode_types_.push_back(id);
    } else {
      needs_wrap = true;
      projection.push_back(IsNestedKind(id)
                               ? fmt::format("CAST(to_json(#{}) AS VARCHAR) AS {}", i + 1, alias)
                               : fmt::format("CAST(#{} AS VARCHAR) AS {}", i + 1, alias));
      decode_types_.push_back(DUCKDB_TYPE_VARCHAR);
    }
  }
  if (!needs_wrap) {
    prepared_.emplace(std::move(prepared));
    return BindParameters(*prepared_, parameters);
  }
  ASSIGN_OR_RETURN(duck::PreparedStatement wrapped,
                   connection_.Prepare(fmt::format("SELECT {} FROM (\n{}\n) AS loch_result",
                                                   Join(projection, ", "), TrimStatement(sql))));
  prepared_.emplace(std::move(wrapped));
  return BindParameters(*prepared_, parameters);
}

absl::StatusOr<std::optional<ResultChunk>> PrefixedCursor::Next() {
  if (prefixed_) return inner_->Next();
  prefixed_ = true;
  ResultChunk chunk;
  chunk.cells.resize(inner_->columns().size());
  for (const std::vector<std::string>& row : rows_) {
    for (size_t column = 0; column < chunk.cells.size(); ++column) {
      chunk.cells[column].push_back(column < row.size() ? std::optional<std::string>(row[column])
                                                        : std::nullopt);
    }
    ++chunk.row_count;
  }
  return std::optional<ResultChunk>(std::move(chunk));
}

absl::Status DuckQueryCursor::Start() {
  started_ = true;
  if (timeout_.count() > 0) {
    watchdog_id_ = watchdog_->Arm(Watchdog::Clock::now() + timeout_, &connection_, timed_out_);
  }
  if (cancelled_) {
    Disarm();
    return absl::CancelledError("the query was cancelled");
  }
  auto result = prepared_->ExecuteStreaming();
  if (!result.ok()) {
    Disarm();
    return TranslateInterrupt(result.status());
  }
  result_ = std::move(*result);
  return CheckResultTypes();
}

absl::Status DuckQueryCursor::CheckResultTypes() {
  if (result_.column_count() != decode_types_.size()) {
    Disarm();
    return absl::InvalidArgumentError(
        "the parameters' values changed the shape of the result; cast them explicitly");
  }
  for (size_t i = 0; i < decode_types_.size(); ++i) {
    duck::LogicalType type = result_.column_type(i);
    if (type.id() == decode_types_[i]) continue;
    if (!IsDirectlyDecodable(type.id())) {
      Disarm();
      return absl::InvalidArgumentError(fmt::format(
          "the parameters' values made column {} a {} instead of {}; cast the parameters "
          "explicitly",
          i + 1, type.Name(), columns_[i].type));
    }
    decode_types_[i] = type.id();
    columns_[i] = ResultColumn{columns_[i].name, type.Name(), KindOf(type.id())};
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ResultChunk>> DuckQueryCursor::Next() {
  if (done_) return std::optional<ResultChunk>();
  if (!started_) {
    absl::Status started = Start();
    if (!started.ok()) {
      done_ = true;
      return started;
    }
  }
  auto chunk = result_.Fetch();
  if (!chunk.ok() || !chunk->has_value()) {
    done_ = true;
    Disarm();
    if (!chunk.ok()) return TranslateInterrupt(chunk.status());
    return std::optional<ResultChunk>();
  }
  ResultChunk out;
  out.row_count = (*chunk)->size();
  out.cells.resize(columns_.size());
  for (size_t column = 0; column < columns_.size(); ++column) {
    DecodeVector((*chunk)->column(column), decode_types_[column], out.row_count, out.cells[column]);
  }
  return std::optional<ResultChunk>(std::move(out));
}

void DuckQueryCursor::Cancel() {
  cancelled_ = true;
  connection_.Interrupt();
}

void DuckQueryCursor::Disarm() {
  if (watchdog_id_ != 0) watchdog_->Disarm(watchdog_id_);
  watchdog_id_ = 0;
}

absl::Status DuckQueryCursor::TranslateInterrupt(const absl::Status& status) const {
  if (!absl::IsCancelled(status)) return status;
  if (timed_out_->load()) {
    return absl::DeadlineExceededError(fmt::format(
        "the query ran longer than its time limit of {} ms and was stopped", timeout_.count()));
  }
  return absl::CancelledError("the query was cancelled");
}

WriteCursor::WriteCursor(std::function<absl::StatusOr<WriteSummary>()> run) : run_(std::move(run)) {
  columns_ = {
      {"operation", "VARCHAR", ValueKind::kString}, {"table", "VARCHAR", ValueKind::kString},
      {"rows", "BIGINT", ValueKind::kNumber},       {"files", "BIGINT", ValueKind::kNumber},
      {"snapshot", "BIGINT", ValueKind::kNumber},   {"message", "VARCHAR", ValueKind::kString}};
}

absl::StatusOr<std::optional<ResultChunk>> WriteCursor::Next() {
  if (done_) return std::optional<ResultChunk>();
  done_ = true;
  if (cancelled_) return absl::CancelledError("the statement was cancelled before it started");
  ASSIGN_OR_RETURN(WriteSummary summary, run_());
  ResultChunk chunk;
  chunk.row_count = 1;
  chunk.cells = {
      {summary.operation},
      {summary.table},
      {std::to_string(summary.rows)},
      {std::to_string(summary.files)},
      {std::to_string(summary.snapshot)},
      {summary.message.empty() ? std::nullopt : std::optional<std::string>(summary.message)}};
  return std::optional<ResultChunk>(std::move(chunk));
}

}  // namespace loch
