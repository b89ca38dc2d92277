#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_split.h"
#include "cli/lake_session.h"
#include "cli/progress.h"
#include "cli/result_writer.h"
#include "common/clock.h"
#include "common/durable_files.h"
#include "common/file_lock.h"
#include "common/ids.h"
#include "common/private_file.h"
#include "common/strings.h"
#include "crawl/crawler.h"
#include "engine/datetime_formats.h"
#include "engine/text_types.h"
#include "fmt/format.h"
#include "generate/store_generator.h"
#include "load/loader.h"
#include "recovery/catalog_backup.h"
#include "server/admin_credentials.h"
#include "server/server.h"
#include "tls/self_signed.h"

namespace loch::cli {
namespace {

std::string ColumnLine(const Column& column) {
  std::string line = fmt::format("  {:<24} {:<28} {}", column.name, column.type,
                                 column.nullable ? "" : "NOT NULL");
  if (!column.comment.empty()) line += "  -- " + column.comment;
  if (std::vector<std::string> formats = DatetimeFormatsOf(column); !formats.empty()) {
    std::vector<std::string> labels;
    for (const std::string& format : formats) labels.push_back(DatetimeFormatLabel(format));
    line += "  -- parsed from text: " + Join(labels, " or ");
  } else if (ParsedFromText(column)) {
    line += "  -- parsed from text";
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LakeSession>> OpenLake(const CommonOptions& common,
                                                      const EngineSettings& engine) {
  ASSIGN_OR_RETURN(LakeLocation location, ResolveLakeLocation(common.lake, common.state));
  return LakeSession::Open(location, engine);
}

absl::Status RunInit(const CommonOptions& common, const InitOptions& options, std::ostream& out) {
  ASSIGN_OR_RETURN(LakeLocation location, ResolveLakeLocation(common.lake, common.state));
  const S3Settings s3{options.endpoint, options.region, options.addressing, options.sse,
                      options.sse_kms_key_id};
  if (options.recover) {
    ASSIGN_OR_RETURN(const RecoveryReport report, LakeSession::Recover(location, s3));
    RETURN_IF_ERROR(EnsureAdminCredentials(location.state_dir).status());
    out << fmt::format(
        "Recovered the catalog of {} from its journal\n  timeline:   {}\n  checkpoint: change "
        "{} (taken {})\n  replayed:   {} change(s), up to change {}\n  catalog:    {}\n  admin "
        "credentials: {}/admin-credentials.json (new: give producers the new keys)\n  "
        "stream records acknowledged but not yet delivered were in the lost state folder's "
        "write-ahead log (see --wal-dir)\n",
        location.root, report.timeline, report.checkpoint_sequence, report.checkpoint_taken_at,
        report.changes_applied, report.last_sequence, location.CatalogPath(), location.state_dir);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(bool created, LakeSession::Init(location, s3, options.new_catalog));
  RETURN_IF_ERROR(EnsureAdminCredentials(location.state_dir).status());
  if (created) {
    out << fmt::format(
        "Initialized an empty lake at {}\n  catalog: {}\n  admin credentials: "
        "{}/admin-credentials.json\n",
        location.root, location.CatalogPath(), location.state_dir);
    if (location.remote()) {
      out << fmt::format("  state:   {} (pass --state {} to later commands, or set LOCH_STATE)\n",
                         location.state_dir, location.state_dir);
    }
  } else if (options.sse || options.sse_kms_key_id) {
    out << fmt::format("The lake at {} already exists; objects written from now on ask for {}.\n",
                       location.root,
                       options.sse.value_or("").empty() ? "the bucket's default encryption"
                                                        : "--sse " + *options.sse);
  } else {
    out << fmt::format("The lake at {} already exists; nothing changed.\n", location.root);
  }
  return absl::OkStatus();
}

namespace {

// --column NAME:TYPE hints, the DATE and TIMESTAMP ones with --timestamp-format's patterns.
absl::StatusOr<std::vector<ColumnHint>> ColumnHintsOf(const std::vector<std::string>& columns,
                                                      const std::vector<std::string>& formats) {
  std::vector<ColumnHint> hints;
  bool datetime = false;
  for (const std::string& text : columns) {
    ASSIGN_OR_RETURN(ColumnHint hint, ParseColumnHint(text));
    if (hint.type == "DATE" || hint.type == "TIMESTAMP") {
      hint.formats = formats;
      datetime = true;
    }
    hints.push_back(std::move(hint));
  }
  if (!formats.empty() && !datetime) {
    return absl::InvalidArgumentError(
        "--timestamp-format applies to the columns given as --column NAME:TIMESTAMP or "
        "--column NAME:DATE; name them");
  }
  for (const std::string& format : formats) {
    if (format.find('%') == std::string::npos) {
      return absl::InvalidArgumentError(fmt::format(
          "--timestamp-format \"{}\" is not a strptime pattern, e.g. \"%d.%m.%Y %H:%M\"", format));
    }
  }
  return hints;
}

}  // namespace

absl::Status RunLoad(const CommonOptions& common, const LoadOptions& options, std::ostream& out) {
  ASSIGN_OR_RETURN(TableName table, TableName::Parse(options.table));
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  Loader loader(lake->catalog(), lake->store(), *engine);
  Stopwatch watch;
  LoadRequest request{options.inputs, table};
  request.allow_duplicates = options.allow_duplicates;
  request.dry_run = options.dry_run;
  ASSIGN_OR_RETURN(request.column_hints, ColumnHintsOf(options.columns, options.timestamp_formats));
  auto result = loader.Load(Principal::LocalAdmin(), request, [&](size_t done, size_t total) {
    ShowProgress(ProgressText(
        "loading", static_cast<double>(done), static_cast<double>(total),
        watch.ElapsedMillis() / 1000,
        [](double files) { return WithThousands(static_cast<int64_t>(files)); }, "files/s"));
  });
  EndProgress();
  RETURN_IF_ERROR(result.status());
  auto files = [](int64_t n) { return fmt::format("{} file{}", n, n == 1 ? "" : "s"); };
  if (result->files == 0) {
    out << fmt::format("Nothing new to load into {}: {} already loaded\n", table.ToString(),
                       files(result->duplicates));
  } else if (result->dry_run) {
    out << fmt::format("Dry run: would load {} ({} rows, {}) into {}; nothing was changed\n",
                       files(result->files), WithThousands(result->rows), HumanBytes(result->bytes),
                       table.ToString());
    out << fmt::format("  would {}; its columns would be:\n",
                       result->created_table ? "create the table" : "append");
    for (const auto* list : {&result->schema.columns, &result->schema.partition_columns}) {
      for (const Column& column : *list) {
        out << fmt::format("    {} {}{}\n", column.name, column.type,
                           list == &result->schema.partition_columns ? " (partition)" : "");
      }
    }
  } else {
    out << fmt::format("Loaded {} ({} rows, {}) into {} in {:.2f} s\n", files(result->files),
                       WithThousands(result->rows), HumanBytes(result->bytes), table.ToString(),
                       watch.ElapsedMillis() / 1000);
    out << fmt::format("  {} at snapshot {}, schema version {}\n",
                       result->created_table ? "created the table" : "appended",
                       result->snapshot_id, result->schema_version);
  }
  if (!result->partition_columns.empty()) {
    out << fmt::format("  partitioned by {}\n", Join(result->partition_columns, ", "));
  }
  if (!result->created_table) {
    for (const auto& name : result->schema_change.added)
      out << fmt::format("  new column: {}\n", name);
    for (const auto& widened : result->schema_change.widened)
      out << fmt::format("  widened column {}\n", widened);
    for (const auto& typed : result->schema_change.typed)
      out << fmt::format("  typed column (no values before): {}\n", typed);
    for (const auto& renamed : result->schema_change.renamed)
      out << fmt::format("  renamed raw-text column {} (the files now have a column of its name)\n",
                         renamed);
  }
  for (const auto& typed : result->typed_text)
    out << fmt::format("  parsed from text: {}\n", typed);
  for (const auto& warning : result->warnings) out << fmt::format("  warning: {}\n", warning);
  for (const auto& skipped : result->skipped) out << fmt::format("  skipped {}\n", skipped);
  return absl::OkStatus();
}

absl::Status RunSql(const CommonOptions& common, const SqlOptions& options, std::ostream& out) {
  ASSIGN_OR_RETURN(auto writer, MakeResultWriter(options.format, out, options.max_rows));
  ASSIGN_OR_RETURN(auto lake, OpenLake(common, EngineSettings{options.memory_limit, 0}));
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  const Principal who = Principal::LocalAdmin();
  QueryOptions query_options;
  query_options.timeout =
      std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000));
  // Kept in the lake's query history with the server's queries (loch.query_history).
  QueryRecord record;
  record.id = NewTimeOrderedId();
  record.sql = options.sql;
  record.principal = who.name;
  record.workgroup = WorkgroupConfig::kPrimary;
  record.front_end = "cli";
  record.submitted_micros = NowMicros();
  double prepare_ms = 0, execute_ms = 0, output_ms = 0;
  // Progress while the query prepares and runs, then while its rows arrive, unless they are
  // printed to the same terminal (where a progress line would cut through them).
  const bool rows_on_terminal = options.format != "table" && ::isatty(STDOUT_FILENO) != 0;
  std::atomic<bool> executing_started{false}, rows_arriving{false};
  std::atomic<int64_t> rows_so_far{0}, bytes_to_read{0};
  Stopwatch since_first_rows;  // reset when they arrive
  auto ticker = std::make_unique<Ticker>(ProgressInterval(), [&](double elapsed) {
    if (!executing_started) {
      ShowProgress(fmt::format("query: preparing, {}", ShortDuration(elapsed)));
    } else if (!rows_arriving) {
      ShowProgress(fmt::format("query: running, {} (reads up to {})", ShortDuration(elapsed),
                               HumanBytes(bytes_to_read)));
    } else {
      const double streaming = std::max(since_first_rows.ElapsedMillis() / 1000, 0.001);
      ShowProgress(fmt::format("query: {} rows in {}, {} rows/s", WithThousands(rows_so_far),
                               ShortDuration(elapsed),
                               WithThousands(static_cast<int64_t>(rows_so_far / streaming))));
    }
  });
  auto end_progress = [&] {
    ticker.reset();
    EndProgress();
  };
  auto run = [&]() -> absl::Status {
    Stopwatch preparing;
    ASSIGN_OR_RETURN(auto cursor, engine->Query(who, options.sql, query_options));
    prepare_ms = preparing.ElapsedMillis();
    record.started_micros = NowMicros();
    record.bytes_scanned = cursor->bytes_scanned();
    bytes_to_read = record.bytes_scanned;
    executing_started = true;
    writer->Begin(cursor->columns());
    while (true) {
      Stopwatch executing;
      ASSIGN_OR_RETURN(auto chunk, cursor->Next());
      execute_ms += executing.ElapsedMillis();
      if (!chunk.has_value()) break;
      record.row_count += static_cast<int64_t>(chunk->row_count);
      rows_so_far = record.row_count;
      if (!rows_arriving) since_first_rows = Stopwatch();
      rows_arriving = true;
      if (rows_on_terminal && ticker) end_progress();
      Stopwatch writing;
      writer->Write(*chunk);
      output_ms += writing.ElapsedMillis();
    }
    end_progress();
    Stopwatch ending;
    writer->End(prepare_ms + execute_ms + output_ms);
    output_ms += ending.ElapsedMillis();
    return absl::OkStatus();
  };
  const absl::Status status = run();
  end_progress();
  record.finished_micros = NowMicros();
  record.state = status.ok() ? "SUCCEEDED" : absl::IsCancelled(status) ? "CANCELLED" : "FAILED";
  record.error_code = static_cast<int>(status.code());
  record.error = std::string(ToStd(status.message()));
  lake->catalog().RecordQuery(who, record).IgnoreError();  // history is best effort
  if (options.timing) {
    fmt::print(stderr,
               "time: {:.3f} ms = prepare {:.3f} (check, bind, choose files) + execute {:.3f} + "
               "output {:.3f} ms; {} rows, {} scanned\n",
               prepare_ms + execute_ms + output_ms, prepare_ms, execute_ms, output_ms,
               WithThousands(record.row_count), HumanBytes(record.bytes_scanned));
  }
  return status;
}

absl::Status RunTables(const CommonOptions& common, const std::optional<std::string>& database,
                       std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  ASSIGN_OR_RETURN(std::vector<TableInfo> tables, lake->catalog().ListTables(who, database));
  ASSIGN_OR_RETURN(std::vector<ViewInfo> views, lake->catalog().ListViews(who, database));
  if (tables.empty() && views.empty()) {
    out << (database.has_value()
                ? fmt::format("Database {} has no tables.\n", *database)
                : "The lake has no tables yet; add some with `loch load FILE --table DB.TABLE`.\n");
    return absl::OkStatus();
  }
  // One line per name, tables and views interleaved in name order.
  std::map<TableName, std::string> lines;
  for (const TableInfo& table : tables) {
    ASSIGN_OR_RETURN(TableSnapshot snapshot,
                     lake->catalog().ReadTable(who, table.name, std::nullopt));
    int64_t rows = 0, bytes = 0;
    for (const DataFile& file : snapshot.files) {
      rows += std::max<int64_t>(file.row_count, 0);
      bytes += file.size_bytes;
    }
    lines[table.name] = fmt::format(
        "{:<32} {:<5} {:>12} {:>7} {:>10} {:>9}\n", table.name.ToString(), "table",
        WithThousands(rows), snapshot.files.size(), HumanBytes(bytes), table.current_snapshot);
  }
  for (const ViewInfo& view : views) {
    lines[view.name] = fmt::format("{:<32} {:<5} {:>12} {:>7} {:>10} {:>9}\n", view.name.ToString(),
                                   "view", "-", "-", "-", "-");
  }
  out << fmt::format("{:<32} {:<5} {:>12} {:>7} {:>10} {:>9}\n", "name", "kind", "rows", "files",
                     "size", "snapshot");
  for (const auto& entry : lines) out << entry.second;
  return absl::OkStatus();
}

namespace {

// `loch describe` of a view: its SQL, the tables and views it reads and its columns.
void DescribeView(const ViewInfo& view, std::ostream& out) {
  out << fmt::format("View {}\n", view.name.ToString());
  out << fmt::format("  created:        {} by {}\n", FormatIsoMicros(view.created_micros),
                     view.author);
  if (view.reads.has_value()) {
    std::vector<std::string> names;
    for (const TableName& read : *view.reads) names.push_back(read.ToString());
    out << fmt::format("  reads:          {}\n", names.empty() ? "(no tables)" : Join(names, ", "));
  } else {
    out << "  reads:          (not recorded: the view predates catalog format 9; see its SQL)\n";
  }
  out << "\nSQL:\n";
  for (absl::string_view line : absl::StrSplit(view.sql, '\n')) out << "  " << line << "\n";
  out << "\nColumns (when the view was defined):\n";
  for (const Column& column : view.columns) out << ColumnLine(column) << "\n";
}

}  // namespace

absl::Status RunDescribe(const CommonOptions& common, const DescribeOptions& options,
                         std::ostream& out) {
  ASSIGN_OR_RETURN(TableName name, TableName::Parse(options.table));
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  absl::StatusOr<TableSnapshot> read = lake->catalog().ReadTable(who, name, std::nullopt);
  if (absl::IsNotFound(read.status())) {
    absl::StatusOr<ViewInfo> view = lake->catalog().GetView(who, name);
    if (!view.ok()) return read.status();  // the table's NotFound names the tables that exist
    if (options.versions || options.files)
      return absl::InvalidArgumentError(fmt::format(
          "{} is a view: it has no versions or files of its own (describe the tables it reads)",
          name.ToString()));
    DescribeView(*view, out);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(TableSnapshot table, std::move(read));
  int64_t rows = 0, bytes = 0;
  for (const DataFile& file : table.files) {
    rows += std::max<int64_t>(file.row_count, 0);
    bytes += file.size_bytes;
  }
  out << fmt::format("Table {}\n", name.ToString());
  if (!table.table.schema.comment.empty())
    out << fmt::format("  comment:        {}\n", table.table.schema.comment);
  out << fmt::format("  location:       {}\n", table.table.location);
  out << fmt::format("  created:        {}\n", FormatIsoMicros(table.table.created_micros));
  out << fmt::format("  snapshot:       {} ({} at {} by {})\n", table.snapshot.snapshot_id,
                     table.snapshot.operation, FormatIsoMicros(table.snapshot.committed_micros),
                     table.snapshot.author);
  out << fmt::format("  schema version: {}\n", table.table.schema.version);
  out << fmt::format("  data:           {} rows in {} files, {}\n", WithThousands(rows),
                     table.files.size(), HumanBytes(bytes));
  out << "\nColumns:\n";
  for (const Column& column : table.table.schema.columns) out << ColumnLine(column) << "\n";
  if (!table.table.schema.partition_columns.empty()) {
    out << "\nPartition columns:\n";
    for (const Column& column : table.table.schema.partition_columns)
      out << ColumnLine(column) << "\n";
  }
  if (options.versions) {
    ASSIGN_OR_RETURN(std::vector<Schema> schemas, lake->catalog().ListSchemas(who, name));
    ASSIGN_OR_RETURN(std::vector<SnapshotInfo> snapshots, lake->catalog().ListSnapshots(who, name));
    out << "\nSchema versions:\n";
    const Schema* previous = nullptr;
    for (const Schema& schema : schemas) {
      auto since = std::find_if(snapshots.begin(), snapshots.end(), [&](const SnapshotInfo& s) {
        return s.schema_version == schema.version;
      });
      out << fmt::format("  version {}{}\n", schema.version,
                         since == snapshots.end()
                             ? ""
                             : fmt::format(" (from snapshot {}, {})", since->snapshot_id,
                                           FormatIsoMicros(since->committed_micros)));
      if (previous == nullptr) {
        out << fmt::format("    {} columns\n",
                           schema.columns.size() + schema.partition_columns.size());
      } else {
        std::set<std::string> renamed_from;
        for (const Column& column : schema.columns) {
          const Column* before = previous->Find(column.name);
          if (before == nullptr) {
            // A renamed column had, before, a name it keeps as a name in older files.
            const std::vector<std::string> names = column.FileNames();
            auto old = std::find_if(names.begin() + 1, names.end(), [&](const std::string& name) {
              return previous->Find(name) != nullptr && schema.Find(name) == nullptr;
            });
            if (old != names.end()) {
              renamed_from.insert(*old);
              before = previous->Find(*old);
              out << fmt::format("    > {} renamed to {}\n", *old, column.name);
            } else {
              out << fmt::format("    + {} {}\n", column.name, column.type);
              continue;
            }
          }
          if (before->type != column.type)
            out << fmt::format("    ~ {} {} -> {}\n", column.name, before->type, column.type);
          if (before->comment != column.comment)
            out << fmt::format("    # {} comment: {}\n", column.name,
                               column.comment.empty() ? "(removed)" : column.comment);
        }
        for (const Column& column : previous->columns) {
          if (schema.Find(column.name) == nullptr && !renamed_from.contains(column.name))
            out << fmt::format("    - {} {}\n", column.name, column.type);
        }
        if (previous->comment != schema.comment)
          out << fmt::format("    # table comment: {}\n",
                             schema.comment.empty() ? "(removed)" : schema.comment);
      }
      previous = &schema;
    }
    out << "\nSnapshots:\n";
    for (const SnapshotInfo& snapshot : snapshots) {
      out << fmt::format("  {:>6}  {}  {:<9} {}  {}\n", snapshot.snapshot_id,
                         FormatIsoMicros(snapshot.committed_micros), snapshot.operation,
                         snapshot.author, snapshot.message);
    }
  }
  if (options.files) {
    out << "\nFiles:\n";
    for (const DataFile& file : table.files) {
      std::vector<std::string> partitions;
      for (const auto& [key, value] : file.partition_values)
        partitions.push_back(key + "=" + value);
      out << fmt::format("  {}  {} {}{}  {} rows  {}{}\n", file.key, file.format,
                         file.compression.empty() ? "" : "+", file.compression,
                         WithThousands(file.row_count), HumanBytes(file.size_bytes),
                         partitions.empty() ? "" : "  [" + Join(partitions, ", ") + "]");
    }
  }
  return absl::OkStatus();
}

namespace {

// Where the streams' write-ahead log lives: `<state>/wal`, or `--wal-dir` (a separate, e.g.
// replicated, volume). The log's folder is loch's alone (the ingest service removes folders of
// streams it does not know), so it carries a marker naming its state folder, and loch refuses:
//  - a folder that holds other files, or the log of another state folder;
//  - a remembered folder that is missing (an unmounted volume would otherwise start empty and
//    hide the acknowledged records on it);
//  - moving to another folder while the one in use still holds log files.
// The choice is remembered in `<state>/wal-dir`.
absl::StatusOr<std::string> ChooseWalDir(const std::string& state_dir, const std::string& flag) {
  namespace fs = std::filesystem;
  constexpr std::string_view kMarker = ".loch-wal";
  const std::string remembered_path = state_dir + "/wal-dir";
  const std::string default_dir = state_dir + "/wal";
  const std::string previous = CurrentWalDir(state_dir);
  const std::string chosen =
      flag.empty() ? previous : fs::absolute(flag).lexically_normal().string();
  const std::string owner = fs::absolute(state_dir).lexically_normal().string();
  std::error_code error;
  const auto holds_log = [&](const std::string& dir) {
    for (const auto& entry : fs::directory_iterator(dir, error))
      if (entry.path().filename() != kMarker) return true;
    return false;
  };
  if (chosen != previous && fs::is_directory(previous, error) && holds_log(previous)) {
    return absl::FailedPreconditionError(fmt::format(
        "the write-ahead log in {} still holds files: stop here, move that folder's content to "
        "{} and start again, or keep --wal-dir {}",
        previous, chosen, previous));
  }
  const std::string marker = chosen + "/" + std::string(kMarker);
  if (fs::exists(chosen, error)) {
    std::string marked;
    if (std::ifstream in(marker); in) std::getline(in, marked);
    if (!marked.empty() && marked != owner) {
      return absl::FailedPreconditionError(fmt::format(
          "{} is the write-ahead log of the state folder {}: give each lake its own --wal-dir",
          chosen, marked));
    }
    // (A folder in use before markers existed holds its own log; only a newly chosen one counts.)
    if (marked.empty() && chosen != previous && holds_log(chosen)) {
      return absl::FailedPreconditionError(fmt::format(
          "--wal-dir {} holds other files; loch removes what it does not know there: give it a "
          "folder of its own (e.g. {}/loch-wal)",
          chosen, chosen));
    }
  } else if (chosen == previous && chosen != default_dir) {
    return absl::FailedPreconditionError(fmt::format(
        "the write-ahead log folder {} is missing: is its volume mounted? (acknowledged records "
        "that were not delivered yet are there); to start over without them, pass --wal-dir {}",
        chosen, default_dir));
  }
  RETURN_IF_ERROR(CreateDirectoriesDurably(chosen, 0700));
  if (!fs::exists(marker, error)) RETURN_IF_ERROR(ReplaceFileDurably(marker, owner + "\n", 0600));
  if (chosen != previous || !fs::exists(remembered_path))
    RETURN_IF_ERROR(ReplaceFileDurably(remembered_path, chosen + "\n", 0600));
  return chosen;
}

// The TLS context `loch serve` was asked for (null: none), with what clients need to know.
absl::StatusOr<std::unique_ptr<tls::TlsServerContext>> LoadServeTls(
    const std::string& state_dir, const ServeCommandOptions& options, std::ostream& out) {
  if (options.tls_self_signed && (!options.tls_cert.empty() || !options.tls_key.empty())) {
    return absl::InvalidArgumentError(
        "--tls-self-signed makes its own certificate: give it or --tls-cert/--tls-key, not both");
  }
  if (options.tls_cert.empty() != options.tls_key.empty())
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together: give both");
  if (!options.tls_names.empty() && !options.tls_self_signed)
    return absl::InvalidArgumentError("--tls-name is for --tls-self-signed");
  tls::CertificateFiles files{options.tls_cert, options.tls_key};
  std::string ca_path;
  if (options.tls_self_signed) {
    tls::SelfSignedOptions self_signed{.dir = state_dir + "/tls", .names = options.tls_names};
    for (const std::string& address : {options.http, options.pg}) {
      std::string host = address.substr(0, address.rfind(':'));
      if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
      if (!host.empty() && host != "0.0.0.0" && host != "::") self_signed.names.push_back(host);
    }
    ASSIGN_OR_RETURN(tls::SelfSigned made, tls::EnsureSelfSigned(self_signed));
    files = made.server;
    ca_path = made.ca_path;
  }
  if (files.cert_path.empty()) return nullptr;
  ASSIGN_OR_RETURN(std::unique_ptr<tls::TlsServerContext> context,
                   tls::TlsServerContext::Load(files));
  const tls::CertificateInfo info = context->info();
  out << fmt::format("TLS certificate {} (SHA-256 {}), valid until {}\n", info.subject,
                     info.sha256_fingerprint,
                     FormatIsoMicros(info.not_after_unix * int64_t{1'000'000}));
  if (info.not_after_unix * int64_t{1'000'000} < NowMicros()) {
    out << fmt::format(
        "warning: the certificate expired on {}: clients will refuse it; replace the files and "
        "send SIGHUP\n",
        FormatIsoMicros(info.not_after_unix * int64_t{1'000'000}));
  }
  if (!ca_path.empty()) {
    out << fmt::format(
        "  clients trust it with the CA file {} (loch --ca-file, NODE_EXTRA_CA_CERTS, psql "
        "sslrootcert=)\n",
        ca_path);
  }
  return context;
}

}  // namespace

std::string CurrentWalDir(const std::string& state_dir) {
  std::string dir = state_dir + "/wal";
  if (std::ifstream in(state_dir + "/wal-dir"); in) std::getline(in, dir);
  return dir;
}

// The secret that signs the server's webhooks: <state>/webhook-secret, made (0600) on first use.
absl::StatusOr<std::string> WebhookSecret(const std::string& state_dir) {
  const std::string path = state_dir + "/webhook-secret";
  if (!std::filesystem::exists(path)) {
    unsigned char bytes[32];
    FillRandomBytes(bytes, sizeof bytes);
    std::string hex;
    for (unsigned char byte : bytes) hex += fmt::format("{:02x}", byte);
    RETURN_IF_ERROR(ReplaceFileDurably(path, hex + "\n", 0600));
  }
  RETURN_IF_ERROR(CheckPrivateFile(path));
  std::ifstream in(path);
  std::string secret;
  std::getline(in, secret);
  if (secret.size() < 32) {
    return absl::FailedPreconditionError(fmt::format(
        "{} holds no secret of at least 32 characters: delete it and a new one is made", path));
  }
  return secret;
}

absl::Status RunServe(const CommonOptions& common, const ServeCommandOptions& options,
                      std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  bool held_elsewhere = false;
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> serving,
                   FileLock::TryAcquire(ServeLockPath(lake->location()), held_elsewhere));
  if (held_elsewhere) {
    return absl::FailedPreconditionError(fmt::format(
        "another `loch serve` is using the state folder {}: one server per state folder",
        lake->location().state_dir));
  }
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  ASSIGN_OR_RETURN(std::unique_ptr<CredentialsKeeper> credentials,
                   CredentialsKeeper::Open(lake->location().state_dir));
  ServeOptions serve;
  std::unique_ptr<tls::TlsServerContext> tls_context;
  ASSIGN_OR_RETURN(tls_context, LoadServeTls(lake->location().state_dir, options, out));
  serve.tls = tls_context.get();
  serve.insecure = options.insecure;
  serve.http_address = options.http;
  serve.max_running_queries = options.max_running_queries;
  serve.max_saved_result_bytes = options.max_saved_result_mib << 20;
  serve.http_threads = options.http_threads;
  serve.request_timeout = std::chrono::seconds(options.request_timeout_seconds);
  serve.pg_address = options.pg;
  ASSIGN_OR_RETURN(serve.ingest.wal_dir, ChooseWalDir(lake->location().state_dir, options.wal_dir));
  serve.job_lock_dir = lake->location().state_dir + "/locks";
  serve.state_dir = lake->location().state_dir;
  orchestrate::OrchestratorOptions orchestrator;
  // This very binary, even after an upgrade replaced the file (the kernel keeps the old one).
  orchestrator.worker_binary = "/proc/self/exe";
  orchestrator.lake_args = {"--lake", lake->location().root, "--state", lake->location().state_dir};
  orchestrator.state_dir = lake->location().state_dir;
  orchestrator.max_workers = options.max_workers;
  orchestrator.retry_backoff_micros = int64_t{options.retry_backoff_ms} * 1000;
  serve.orchestrator = orchestrator;
  serve.failure_webhook = options.failure_webhook;
  ASSIGN_OR_RETURN(serve.webhook_secret, WebhookSecret(lake->location().state_dir));
  serve.ingest.max_pending_bytes = options.ingest_memory_mib << 20;
  serve.ingest.wal_segment_bytes = options.wal_segment_mib << 20;
  const std::string temp_dir = lake->location().state_dir + "/tmp";
  std::error_code ignored;
  std::filesystem::create_directories(temp_dir, ignored);
  const std::string credentials_path = lake->location().state_dir + "/admin-credentials.json";
  return Serve(
      *engine, lake->catalog(), lake->store(), temp_dir, *credentials, serve,
      [&](const ServeAddresses& addresses) {
        const std::string& url = addresses.http_url;
        out << fmt::format("loch is serving the lake {} on {}\n", lake->location().root, url);
        out << fmt::format(
            "  token: see {}/admin-credentials.json (send `Authorization: Bearer <token>`)\n",
            lake->location().state_dir);
        out << fmt::format(
            "  events: GET {}/api/v1/events; webhooks are signed (X-Loch-Signature) with the "
            "secret "
            "in {}/webhook-secret\n",
            url, lake->location().state_dir);
        out << fmt::format(
            "  try:   curl -s -H \"Authorization: Bearer $TOKEN\" -d '{{\"sql\": \"SELECT 42\"}}' "
            "{}/api/v1/query\n",
            url);
        if (!addresses.pg_address.empty()) {
          const size_t colon = addresses.pg_address.rfind(':');
          out << fmt::format(
              "  PostgreSQL protocol on {}: psql \"host={} port={} user={} dbname=lake\" "
              "(password: "
              "pg_password in {})\n",
              addresses.pg_address, addresses.pg_address.substr(0, colon),
              addresses.pg_address.substr(colon + 1), credentials->current()->pg_user,
              credentials_path);
        }
        out.flush();
      });
}

absl::Status RunGenerate(const GenerateOptions& options, std::ostream& out) {
  GeneratorOptions generator;
  generator.out_dir = options.out_dir;
  generator.events = options.events;
  generator.seed = options.seed;
  generator.dirty_fraction = options.dirty;
  Stopwatch watch;
  ASSIGN_OR_RETURN(GeneratorSummary summary, GenerateStore(generator, [](double done) {
                     ShowProgress(fmt::format("generating: {:.0f}%", done * 100));
                   }));
  EndProgress();
  out << fmt::format(
      "Generated {} events in {} sessions, {} orders and {} deals{} ({}) into {} in {:.2f} s\n",
      WithThousands(summary.events), WithThousands(summary.sessions), WithThousands(summary.orders),
      summary.deals,
      summary.dirty_records > 0
          ? fmt::format(", plus {} dirty records", WithThousands(summary.dirty_records))
          : "",
      HumanBytes(summary.bytes), options.out_dir, watch.ElapsedMillis() / 1000);
  out << fmt::format("  expected answers: {}/expected.json\n", options.out_dir);
  return absl::OkStatus();
}

}  // namespace loch::cli
