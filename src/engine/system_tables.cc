#include "engine/system_tables.h"

#include <algorithm>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

struct SystemColumn {
  const char* name;
  const char* type;  // DuckDB's; TIMESTAMP cells are Micros
};

struct SystemTableInfo {
  SystemTable table;
  const char* name;
  std::vector<SystemColumn> columns;
};

const std::vector<SystemTableInfo>& AllTables() {
  static const auto* tables = new std::vector<SystemTableInfo>{
      {SystemTable::kQueryHistory,
       "query_history",
       {{"id", "VARCHAR"},
        {"sql", "VARCHAR"},
        {"principal", "VARCHAR"},
        {"workgroup", "VARCHAR"},
        {"front_end", "VARCHAR"},
        {"state", "VARCHAR"},
        {"submitted", "TIMESTAMP"},
        {"started", "TIMESTAMP"},
        {"finished", "TIMESTAMP"},
        {"elapsed_ms", "DOUBLE"},
        {"row_count", "BIGINT"},
        {"bytes_scanned", "BIGINT"},
        {"error", "VARCHAR"},
        {"result_key", "VARCHAR"}}},
      {SystemTable::kRuns,
       "runs",
       {{"run_id", "BIGINT"},       {"kind", "VARCHAR"},           {"name", "VARCHAR"},
        {"version", "BIGINT"},      {"state", "VARCHAR"},          {"attempt", "BIGINT"},
        {"max_attempts", "BIGINT"}, {"previous_run_id", "BIGINT"}, {"retry_run_id", "BIGINT"},
        {"worker_pid", "BIGINT"},   {"trigger", "VARCHAR"},        {"trigger_detail", "VARCHAR"},
        {"tags", "VARCHAR"},        {"queued", "TIMESTAMP"},       {"started", "TIMESTAMP"},
        {"finished", "TIMESTAMP"},  {"elapsed_ms", "DOUBLE"},      {"rows_read", "BIGINT"},
        {"rows_written", "BIGINT"}, {"bytes_written", "BIGINT"},   {"snapshot_written", "BIGINT"},
        {"error", "VARCHAR"},       {"log_tail", "VARCHAR"}}},
      {SystemTable::kJobRuns,
       "job_runs",
       {{"run_id", "BIGINT"},
        {"job", "VARCHAR"},
        {"version", "BIGINT"},
        {"state", "VARCHAR"},
        {"trigger", "VARCHAR"},
        {"started", "TIMESTAMP"},
        {"finished", "TIMESTAMP"},
        {"elapsed_ms", "DOUBLE"},
        {"rows_read", "BIGINT"},
        {"rows_written", "BIGINT"},
        {"files_written", "BIGINT"},
        {"bytes_written", "BIGINT"},
        {"snapshot_written", "BIGINT"},
        {"error", "VARCHAR"},
        {"report", "VARCHAR"}}},
      {SystemTable::kDqResults,
       "dq_results",
       {{"run_id", "BIGINT"},
        {"job", "VARCHAR"},
        {"started", "TIMESTAMP"},
        {"line", "BIGINT"},
        {"rule", "VARCHAR"},
        {"severity", "VARCHAR"},
        {"outcome", "VARCHAR"},
        {"observed", "VARCHAR"},
        {"message", "VARCHAR"}}},
  };
  return *tables;
}

const SystemTableInfo& InfoOf(SystemTable table) {
  const auto& tables = AllTables();
  return *std::find_if(tables.begin(), tables.end(),
                       [&](const SystemTableInfo& info) { return info.table == table; });
}

constexpr size_t kRunsKept = 10000;  // loch.job_runs: the newest runs

SystemValue Text(const std::string& text) {
  return text.empty() ? SystemValue() : SystemValue(text);
}
SystemValue Time(int64_t micros) {
  return micros > 0 ? SystemValue(Micros{micros}) : SystemValue();
}
double ElapsedMillis(int64_t from_micros, int64_t to_micros) {
  return to_micros >= from_micros && from_micros > 0
             ? static_cast<double>(to_micros - from_micros) / 1000.0
             : 0.0;
}

// A number of a run's report, NULL if it has none.
SystemValue ReportNumber(const nlohmann::json& report, const char* field) {
  const auto found = report.find(field);
  if (found == report.end() || !found->is_number_integer()) return SystemValue();
  return SystemValue(found->get<int64_t>());
}

// A text of a run's report, NULL if it has none (or it is empty).
SystemValue ReportText(const nlohmann::json& report, const char* field) {
  const auto found = report.find(field);
  if (found == report.end() || !found->is_string()) return SystemValue();
  return Text(found->get<std::string>());
}

SystemValue RowsRead(const nlohmann::json& report) {
  const auto sources = report.find("sources");
  if (sources == report.end() || !sources->is_object()) return SystemValue();
  int64_t rows = 0;
  for (const auto& [table, source] : sources->items()) {
    if (source.is_object()) rows += source.value("rows", int64_t{0});
  }
  return SystemValue(rows);
}

absl::Status BindValue(duck::PreparedStatement& insert, size_t index, const SystemValue& value) {
  struct Binder {
    duck::PreparedStatement& insert;
    size_t index;
    absl::Status operator()(std::monostate) { return insert.BindNull(index); }
    absl::Status operator()(const std::string& text) { return insert.Bind(index, text); }
    absl::Status operator()(int64_t number) { return insert.Bind(index, number); }
    absl::Status operator()(double number) { return insert.Bind(index, number); }
    absl::Status operator()(Micros time) { return insert.Bind(index, time.value); }
  };
  return std::visit(Binder{insert, index}, value);
}

}  // namespace

std::optional<SystemTable> SystemTableNamed(std::string_view table) {
  for (const SystemTableInfo& info : AllTables()) {
    if (table == info.name) return info.table;
  }
  return std::nullopt;
}

std::string SystemTableList() {
  std::vector<std::string> names;
  for (const SystemTableInfo& info : AllTables())
    names.push_back(fmt::format("{}.{}", kSystemDatabase, info.name));
  return Join(names, ", ");
}

absl::StatusOr<SystemRows> ReadSystemTable(Catalog& catalog, const Principal& who,
                                           SystemTable table) {
  SystemRows out{table, {}};
  switch (table) {
    case SystemTable::kQueryHistory: {
      ASSIGN_OR_RETURN(std::vector<QueryRecord> queries,
                       catalog.ListQueries(who, Catalog::kQueryHistoryKept));
      for (const QueryRecord& r : queries) {
        out.rows.push_back({r.id, r.sql, r.principal, r.workgroup, r.front_end, r.state,
                            Time(r.submitted_micros), Time(r.started_micros),
                            Time(r.finished_micros),
                            ElapsedMillis(r.submitted_micros, r.finished_micros), r.row_count,
                            r.bytes_scanned, Text(r.error), Text(r.result_key)});
      }
      break;
    }
    case SystemTable::kRuns: {
      ASSIGN_OR_RETURN(std::vector<RunRecord> runs,
                       catalog.FindRuns(who, RunQuery{"", "", {}, false, false, kRunsKept}));
      auto id = [](int64_t value) { return value == 0 ? SystemValue() : SystemValue(value); };
      auto json_text = [](const nlohmann::json& value) {
        return SystemValue(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      };
      for (const RunRecord& r : runs) {
        out.rows.push_back({r.run_id,
                            r.kind,
                            r.name,
                            r.version,
                            r.state,
                            int64_t{r.attempt},
                            int64_t{r.max_attempts},
                            id(r.previous_run_id),
                            id(r.retry_run_id),
                            id(r.pid),
                            r.trigger,
                            json_text(r.trigger_detail),
                            json_text(nlohmann::json(r.tags)),
                            Time(r.queued_micros),
                            Time(r.started_micros),
                            Time(r.finished_micros),
                            ElapsedMillis(r.started_micros, r.finished_micros),
                            RowsRead(r.report),
                            ReportNumber(r.report, "rows_written"),
                            ReportNumber(r.report, "bytes_written"),
                            ReportNumber(r.report, "snapshot_written"),
                            Text(r.error),
                            Text(r.log_tail)});
      }
      break;
    }
    case SystemTable::kJobRuns: {
      ASSIGN_OR_RETURN(std::vector<RunRecord> runs, catalog.ListRuns(who, "job", "", kRunsKept));
      for (const RunRecord& r : runs) {
        out.rows.push_back(
            {r.run_id, r.name, r.version, r.state, r.trigger, Time(r.started_micros),
             Time(r.finished_micros), ElapsedMillis(r.started_micros, r.finished_micros),
             RowsRead(r.report), ReportNumber(r.report, "rows_written"),
             ReportNumber(r.report, "files_written"), ReportNumber(r.report, "bytes_written"),
             ReportNumber(r.report, "snapshot_written"), Text(r.error),
             r.report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
      }
      break;
    }
    case SystemTable::kDqResults: {
      ASSIGN_OR_RETURN(std::vector<RunRecord> runs, catalog.ListRuns(who, "job", "", kRunsKept));
      for (const RunRecord& r : runs) {
        const auto dq = r.report.find("dq");
        if (dq == r.report.end() || !dq->is_array()) continue;
        for (const nlohmann::json& rule : *dq) {
          if (!rule.is_object()) continue;
          out.rows.push_back({r.run_id, r.name, Time(r.started_micros), ReportNumber(rule, "line"),
                              ReportText(rule, "rule"), ReportText(rule, "severity"),
                              ReportText(rule, "outcome"), ReportText(rule, "observed"),
                              ReportText(rule, "message")});
        }
      }
      break;
    }
  }
  return out;
}

absl::Status MaterializeSystemTable(duck::Connection& connection, const std::string& catalog_name,
                                    const SystemRows& rows) {
  const SystemTableInfo& info = InfoOf(rows.table);
  const std::string table = fmt::format("{}.{}.{}", catalog_name, kSystemDatabase, info.name);
  RETURN_IF_ERROR(connection.Execute(
      fmt::format("CREATE SCHEMA IF NOT EXISTS {}.{}", catalog_name, kSystemDatabase)));
  std::vector<std::string> columns, placeholders;
  for (const SystemColumn& column : info.columns) {
    columns.push_back(fmt::format("{} {}", column.name, column.type));
    placeholders.push_back(std::string_view(column.type) == "TIMESTAMP" ? "make_timestamp(?)"
                                                                        : "?");
  }
  RETURN_IF_ERROR(
      connection.Execute(fmt::format("CREATE TABLE {}({})", table, Join(columns, ", "))));
  const std::string row = "(" + Join(placeholders, ", ") + ")";
  constexpr size_t kRowsPerInsert = 100;
  std::optional<duck::PreparedStatement> full_batch;
  for (size_t first = 0; first < rows.rows.size(); first += kRowsPerInsert) {
    const size_t count = std::min(kRowsPerInsert, rows.rows.size() - first);
    std::optional<duck::PreparedStatement> partial;
    auto prepare = [&](std::optional<duck::PreparedStatement>& into) -> absl::Status {
      std::vector<std::string> all(count, row);
      ASSIGN_OR_RETURN(
          duck::PreparedStatement prepared,
          connection.Prepare(fmt::format("INSERT INTO {} VALUES {}", table, Join(all, ", "))));
      into.emplace(std::move(prepared));
      return absl::OkStatus();
    };
    if (count == kRowsPerInsert && !full_batch) RETURN_IF_ERROR(prepare(full_batch));
    if (count != kRowsPerInsert) RETURN_IF_ERROR(prepare(partial));
    duck::PreparedStatement& insert = count == kRowsPerInsert ? *full_batch : *partial;
    for (size_t i = 0; i < count; ++i) {
      const std::vector<SystemValue>& values = rows.rows[first + i];
      for (size_t column = 0; column < values.size(); ++column) {
        RETURN_IF_ERROR(BindValue(insert, i * info.columns.size() + column + 1, values[column]));
      }
    }
    RETURN_IF_ERROR(insert.Execute().status());
  }
  return absl::OkStatus();
}

}  // namespace loch
