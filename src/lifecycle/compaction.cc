#include "lifecycle/compaction.h"

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/fault_point.h"
#include "common/ids.h"
#include "common/lake_config.h"
#include "common/strings.h"
#include "engine/text_types.h"
#include "fmt/format.h"
#include "ingest/stream_config.h"
#include "lifecycle/vacuum.h"

namespace loch {
namespace {

// The name the files being rewritten are read under: pinned, never in the catalog ('-' is not
// allowed in identifiers).
const TableName kRewrittenTable{"loch-compact", "files"};

struct Partition {
  std::map<std::string, std::string> values;
  // The files' `name=value` folders of the partition columns, as their keys spell them (e.g.
  // "country=a%20b/day=2024-01-01"), when every partition column has one; "" otherwise. Tables
  // read partition values from such folders (URL-decoded by DuckDB), else from the catalog: the
  // rewritten files keep the folders, so that they read alike.
  std::string hive_folders;
  std::vector<DataFile> files;  // to rewrite
  int64_t rows = 0;
};

std::string HiveFoldersOf(const std::string& key, const std::vector<Column>& partition_columns) {
  std::vector<std::string> folders;
  const std::vector<std::string_view> segments = Split(key, '/');
  for (const Column& column : partition_columns) {
    const std::string wanted = column.name + "=";
    auto segment = std::find_if(segments.begin(), segments.end() - 1,
                                [&](std::string_view s) { return s.starts_with(wanted); });
    if (segment == segments.end() - 1) return "";
    folders.emplace_back(*segment);
  }
  return Join(folders, "/");
}

// The first sequence a stream object's key names (…/<stream>-[<tag>-]<20 digits>.<ext>), if any.
std::optional<int64_t> FirstSequenceOf(std::string_view key) {
  std::string_view name = key.substr(key.rfind('/') + 1);
  name = name.substr(0, name.find('.'));
  const size_t dash = name.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return ParseInteger(name.substr(dash + 1));
}

// For each delivery stream: its objects' prefix and the sequence its deliveries are checkpointed
// through. (Any table may hold a stream's objects: its own, or one a crawler made.)
absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Streams(Catalog& catalog,
                                                                    const Principal& who) {
  ASSIGN_OR_RETURN(std::vector<SavedStream> streams, catalog.ListStreams(who));
  std::vector<std::pair<std::string, int64_t>> delivered;
  for (const SavedStream& saved : streams) {
    ASSIGN_OR_RETURN(StreamConfig config, StreamConfigFromJson(saved.config));
    delivered.emplace_back(fmt::format("raw/{}/", config.name), saved.delivered_through);
  }
  return delivered;
}

// The schema the rewritten files hold: each column as the table reads it from its files (text it
// types from text stays text), without raw companions and partition columns.
Schema StoredSchema(const Schema& schema) {
  Schema stored;
  for (const Column& column : schema.columns) {
    if (RawOf(column)) continue;
    Column kept(column.name, ParsedFromText(column) ? "VARCHAR" : column.type);
    if (column.metadata.contains("file_names"))
      kept.metadata["file_names"] = column.metadata["file_names"];
    stored.columns.push_back(std::move(kept));
  }
  return stored;
}

absl::Status CheckOptions(const CompactionOptions& options, const Schema& schema) {
  if (options.target_file_bytes < (int64_t{1} << 20) ||
      options.target_file_bytes > (int64_t{4} << 30)) {
    return absl::InvalidArgumentError(fmt::format(
        "target file size {} bytes is outside 1 MiB - 4 GiB", options.target_file_bytes));
  }
  auto names = [](const std::vector<Column>& columns) {
    std::vector<std::string> all;
    for (const Column& column : columns) all.push_back(column.name);
    return Join(all, ", ");
  };
  for (const auto& filter : options.partition) {
    const std::string& name = filter.first;
    if (std::none_of(schema.partition_columns.begin(), schema.partition_columns.end(),
                     [&](const Column& column) { return column.name == name; })) {
      return absl::InvalidArgumentError(fmt::format(
          "--partition {}: the table has no partition column \"{}\"; its partition columns: {}",
          name, name,
          schema.partition_columns.empty() ? "none" : names(schema.partition_columns)));
    }
  }
  for (const std::string& name : options.sort_by) {
    const Column* column = schema.Find(name);
    if (column == nullptr || RawOf(*column) ||
        std::any_of(schema.partition_columns.begin(), schema.partition_columns.end(),
                    [&](const Column& partition) { return partition.name == name; })) {
      return absl::InvalidArgumentError(fmt::format(
          "--sort-by {}: not a column of the table's files; they have: {}", name,
          names(StoredSchema(schema).columns)));
    }
  }
  return absl::OkStatus();
}

// The partitions of `table` worth rewriting, and what they hold.
absl::StatusOr<std::vector<Partition>> Plan(Catalog& catalog, const Principal& who,
                                            const TableSnapshot& table,
                                            const CompactionOptions& options,
                                            CompactionReport& report) {
  ASSIGN_OR_RETURN(auto streams, Streams(catalog, who));
  auto delivered = [&](const DataFile& file) {
    if (file.owned) return true;  // loch's own copy: never delivered again
    for (const auto& [prefix, through] : streams) {
      if (!file.key.starts_with(prefix)) continue;
      const std::optional<int64_t> first = FirstSequenceOf(file.key);
      if (!first || *first > through) return false;
    }
    return true;
  };
  const int64_t small = options.target_file_bytes / 4 * 3;
  std::map<std::pair<std::map<std::string, std::string>, std::string>, Partition> by_values;
  for (const DataFile& file : table.files) {
    const bool selected =
        std::all_of(options.partition.begin(), options.partition.end(), [&](const auto& wanted) {
          auto value = file.partition_values.find(wanted.first);
          return value != file.partition_values.end() && value->second == wanted.second;
        });
    if (!selected || file.row_count < 0) continue;
    if (file.format == "parquet" && file.size_bytes >= small) continue;
    if (!delivered(file)) {
      ++report.not_delivered;
      continue;
    }
    const std::string hive = HiveFoldersOf(file.key, table.table.schema.partition_columns);
    Partition& partition = by_values[{file.partition_values, hive}];
    partition.values = file.partition_values;
    partition.hive_folders = hive;
    partition.files.push_back(file);
    partition.rows += file.row_count;
  }
  std::vector<Partition> plan;
  for (auto& [values, partition] : by_values) {
    const bool raw_format = std::any_of(partition.files.begin(), partition.files.end(),
                                        [](const DataFile& file) { return file.format != "parquet"; });
    if (partition.files.size() < 2 && !raw_format) continue;
    plan.push_back(std::move(partition));
  }
  return plan;
}

// Stages the rewritten files of `plan` (their partition values set), checking that each partition
// keeps its rows. On failure nothing staged stays.
absl::StatusOr<std::vector<DataFile>> StageRewrites(LakeEngine& engine, const Principal& who,
                                                    const TableSnapshot& table,
                                                    const std::vector<Partition>& plan,
                                                    const CompactionOptions& options,
                                                    const std::string& write_id) {
  TableSnapshot stored = table;
  stored.table.name = kRewrittenTable;
  stored.table.schema = StoredSchema(table.table.schema);
  std::vector<DataFile> written;
  auto fail = [&](absl::Status status) {
    StagedFiles all;
    all.files = written;
    engine.DiscardStaged(all);
    return status;
  };
  for (size_t i = 0; i < plan.size(); ++i) {
    const Partition& partition = plan[i];
    StageRequest request;
    request.table = options.table;
    request.prefix = fmt::format("{}{}/{}/{}/{}", kCuratedZone, options.table.database,
                                 options.table.table, write_id, i);
    request.prefix += partition.hive_folders.empty() ? "/" : "/" + partition.hive_folders + "/";
    request.layout.sort_by = options.sort_by;
    request.layout.target_file_bytes = options.target_file_bytes;
    stored.files = partition.files;
    request.pinned[kRewrittenTable] = stored;
    request.query = fmt::format("SELECT * FROM {}.{}", QuoteIdentifier(kRewrittenTable.database),
                                QuoteIdentifier(kRewrittenTable.table));
    auto staged = engine.StageQueryResult(who, request);
    if (!staged.ok()) return fail(staged.status());
    int64_t rows = 0;
    for (DataFile& file : staged->files) {
      file.partition_values = partition.values;
      rows += file.row_count;
      written.push_back(std::move(file));
    }
    if (rows != partition.rows) {
      return fail(absl::DataLossError(fmt::format(
          "compaction read {} row(s) from the files of partition {} but their records say {}: "
          "have files changed since they were registered? Nothing was changed",
          rows, nlohmann::json(partition.values).dump(), partition.rows)));
    }
  }
  return written;
}

// The compacted files hold text the table types (datetimes, lenient numbers) as text, so their
// statistics of it are text bounds, which pruning cannot use for a typed column. Each file's
// statistics of such a column become the range of its values as the table reads them, typed (used
// to prune) only when every value parsed: a format the table learns later may parse the others
// (the crawler's rule, schema/schema_policy.cc).
absl::Status SetParsedRanges(LakeEngine& engine, const Principal& who, const TableSnapshot& table,
                             std::vector<DataFile>& files) {
  TableSnapshot pinned = table;
  pinned.table.name = TableName{"loch-compact", "ranges"};
  pinned.table.schema.partition_columns.clear();
  std::vector<const Column*> parsed;
  std::vector<std::string> aggregates;
  for (const Column& column : table.table.schema.columns) {
    const std::string text = fmt::format("loch_text_{}", parsed.size());
    if (RawOf(column) || !ParsedFromText(column) || table.table.schema.Find(text) != nullptr)
      continue;
    Column companion(text, "VARCHAR");  // the column's text, as its raw companion reads it
    companion.metadata["raw_of"] = column.name;
    pinned.table.schema.columns.push_back(std::move(companion));
    const std::string typed = QuoteIdentifier(column.name);
    aggregates.push_back(fmt::format("min({0}), max({0}), count(*) FILTER (WHERE {1} IS NOT NULL "
                                     "AND {0} IS NULL)",
                                     typed, QuoteIdentifier(text)));
    parsed.push_back(&column);
  }
  if (parsed.empty()) return absl::OkStatus();
  const std::string sql =
      fmt::format("SELECT {} FROM {}.{}", Join(aggregates, ", "),
                  QuoteIdentifier(pinned.table.name.database), QuoteIdentifier(pinned.table.name.table));
  for (DataFile& file : files) {
    QueryOptions options;
    pinned.files = {file};
    options.pinned[pinned.table.name] = pinned;
    ASSIGN_OR_RETURN(std::unique_ptr<QueryCursor> cursor, engine.Query(who, sql, options));
    ASSIGN_OR_RETURN(std::optional<ResultChunk> chunk, cursor->Next());
    if (!chunk || chunk->row_count != 1) return absl::InternalError("no ranges of a compacted file");
    for (size_t i = 0; i < parsed.size(); ++i) {
      const std::optional<std::string>& unparsed = chunk->cells[3 * i + 2][0];
      for (ColumnStats& stats : file.stats) {
        if (stats.column != parsed[i]->name) continue;
        stats.min = chunk->cells[3 * i][0];
        stats.max = chunk->cells[3 * i + 1][0];
        stats.stored_type = "VARCHAR";
        stats.type = unparsed == "0" ? parsed[i]->type : "";
      }
    }
  }
  return absl::OkStatus();
}

// Copies the raw objects among `plan`'s files into the archive zone; returns the relocations.
absl::StatusOr<std::vector<Relocation>> Archive(Catalog& catalog, ObjectStore& store,
                                                const Principal& who,
                                                const std::vector<Partition>& plan,
                                                const std::string& write_id) {
  std::vector<Relocation> relocations;
  for (const Partition& partition : plan) {
    for (const DataFile& file : partition.files) {
      if (file.owned) continue;
      std::string archived = fmt::format("{}{}", kArchiveZone, file.key);
      ASSIGN_OR_RETURN(std::vector<std::string> named, catalog.KnownKeys(who, archived));
      if (std::find(named.begin(), named.end(), archived) != named.end()) {
        // A record names a copy of another object that had this key (deleted and written again).
        archived = fmt::format("{}{}/{}", kArchiveZone, write_id, file.key);
      }
      RETURN_IF_ERROR(store.Copy(file.key, archived));
      ASSIGN_OR_RETURN(ObjectInfo copy, store.Head(archived));
      relocations.push_back(Relocation{file.file_id, archived, copy.etag});
    }
  }
  return relocations;
}

// The raw originals to delete once no query may read them, while they hold their copies' bytes.
std::vector<ObjectRef> OriginalsOf(const std::vector<Relocation>& relocations,
                                   const std::vector<Partition>& plan) {
  std::map<int64_t, const DataFile*> files;
  for (const Partition& partition : plan) {
    for (const DataFile& file : partition.files) files[file.file_id] = &file;
  }
  std::vector<ObjectRef> originals;
  for (const Relocation& relocation : relocations) {
    const DataFile& file = *files.at(relocation.file_id);
    originals.push_back(ObjectRef{file.key, file.size_bytes, relocation.key});
  }
  return originals;
}

}  // namespace

nlohmann::json CompactionReport::ToJson() const {
  nlohmann::json json = {{"snapshot", snapshot_id},   {"partitions", partitions},
                         {"files_before", files_before}, {"files_after", files_after},
                         {"bytes_before", bytes_before}, {"bytes_after", bytes_after},
                         {"rows", rows},                 {"archived", archived},
                         {"not_delivered", not_delivered}, {"attempts", attempts}};
  if (!note.empty()) json["note"] = note;
  return json;
}

absl::StatusOr<CompactionReport> Compact(Catalog& catalog, ObjectStore& store, LakeEngine& engine,
                                         const Principal& who, const CompactionOptions& options) {
  ASSIGN_OR_RETURN(TableSnapshot table, catalog.ReadTable(who, options.table, std::nullopt));
  RETURN_IF_ERROR(CheckOptions(options, table.table.schema));
  CompactionReport report;
  ASSIGN_OR_RETURN(std::vector<Partition> plan, Plan(catalog, who, table, options, report));
  for (const Partition& partition : plan) {
    ++report.partitions;
    report.rows += partition.rows;
    for (const DataFile& file : partition.files) {
      ++report.files_before;
      report.bytes_before += file.size_bytes;
      if (!file.owned) ++report.archived;
    }
  }
  if (plan.empty()) {
    report.note = "nothing to compact: no partition has two or more small files";
    return report;
  }
  if (options.dry_run) return report;

  const std::string write_id = NewTimeOrderedId();
  // The raw objects are copied first, and the rewritten rows read from the copies: they are
  // exactly the bytes vacuum later compares an original with before deleting it (a producer that
  // rewrites an original meanwhile keeps its new bytes).
  ASSIGN_OR_RETURN(std::vector<Relocation> relocations,
                   Archive(catalog, store, who, plan, write_id));
  FaultPoint("compact-after-archive");
  std::vector<Partition> from_copies = plan;
  std::map<int64_t, const Relocation*> copy_of;
  for (const Relocation& relocation : relocations) copy_of[relocation.file_id] = &relocation;
  for (Partition& partition : from_copies) {
    for (DataFile& file : partition.files) {
      if (auto copy = copy_of.find(file.file_id); copy != copy_of.end()) {
        file.key = copy->second->key;
        file.etag = copy->second->etag;
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<DataFile> rewritten,
                   StageRewrites(engine, who, table, from_copies, options, write_id));
  auto discard = [&](absl::Status status) {
    StagedFiles staged;
    staged.files = rewritten;
    engine.DiscardStaged(staged);
    return status;
  };
  for (const DataFile& file : rewritten) {
    ++report.files_after;
    report.bytes_after += file.size_bytes;
  }
  if (absl::Status ranged = SetParsedRanges(engine, who, table, rewritten); !ranged.ok()) {
    return discard(ranged);
  }
  FaultPoint("compact-before-commit");

  TableCommit commit;
  commit.table = options.table;
  commit.operation = std::string(kCompactOperation);
  commit.add_files = rewritten;
  for (const Partition& partition : plan) {
    for (const DataFile& file : partition.files) commit.remove_file_ids.push_back(file.file_id);
  }
  commit.deferred_deletes = OriginalsOf(relocations, plan);
  commit.relocations = std::move(relocations);
  commit.message = fmt::format("compact: {} file(s) -> {} in {} partition(s); {} archived",
                               report.files_before, report.files_after, report.partitions,
                               report.archived);
  commit.summary = {{"compaction", write_id},          {"rows", report.rows},
                    {"files_removed", report.files_before}, {"files_added", report.files_after},
                    {"bytes_before", report.bytes_before}, {"bytes_after", report.bytes_after},
                    {"archived", report.archived}};
  int64_t base = table.table.current_snapshot;
  for (report.attempts = 1;; ++report.attempts) {
    commit.base_snapshot = base;
    commit.deletes_not_before_micros = NowMicros() + kMinSafeRetainMicros;
    auto committed = catalog.Commit(who, commit);
    if (committed.ok()) {
      report.snapshot_id = committed->snapshot_id;
      return report;
    }
    if (!LostCommitRace(committed.status(), /*create=*/false) ||
        report.attempts >= kMaxCommitAttempts) {
      return discard(committed.status());
    }
    // Another writer went first: based again on its snapshot if that changed none of this.
    auto current = catalog.ReadTable(who, options.table, std::nullopt);
    if (!current.ok()) return discard(current.status());
    std::set<int64_t> live;
    for (const DataFile& file : current->files) live.insert(file.file_id);
    const bool unchanged =
        current->table.schema.version == table.table.schema.version &&
        std::all_of(commit.remove_file_ids.begin(), commit.remove_file_ids.end(),
                    [&](int64_t id) { return live.contains(id); });
    if (!unchanged) {
      return discard(absl::AbortedError(fmt::format(
          "table {} changed while it was compacted (its schema, or files the compaction "
          "rewrote); nothing was changed: run the compaction again",
          options.table.ToString())));
    }
    base = current->table.current_snapshot;
  }
}

}  // namespace loch
