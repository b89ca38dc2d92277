#include "load/loader.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/content_hash.h"
#include "common/ids.h"
#include "common/strings.h"
#include "engine/text_types.h"
#include "fmt/format.h"
#include "load/file_format.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

struct InputFile {
  InputFile(std::string local, std::string relative)
      : local_path(std::move(local)), relative_path(std::move(relative)) {}
  std::string local_path;
  std::string relative_path;  // below the input directory, or the file name
  FileFormat format;
  std::map<std::string, std::string> partitions;
  std::string key;  // where it lands in the lake
  std::string etag;
  std::string content_hash;
  int64_t size = 0;
  FileProfile profile;
};

bool IsSafeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '=' || c == ':';
}

std::string SanitizeSegment(std::string_view segment) {
  std::string out(segment);
  for (char& c : out) {
    if (!IsSafeChar(c) || c == ':') c = '_';
  }
  return out;
}

bool IsHiddenOrMarker(const fs::path& path) {
  const std::string name = path.filename().string();
  return name.starts_with('.') || name.starts_with('_') || name.ends_with(".crc");
}

absl::StatusOr<std::vector<InputFile>> ExpandInputs(const std::vector<std::string>& inputs,
                                                    std::vector<std::string>& skipped) {
  std::vector<InputFile> files;
  for (const std::string& input : inputs) {
    std::error_code error;
    const fs::file_status status = fs::status(input, error);
    if (error || !fs::exists(status))
      return absl::NotFoundError(fmt::format("no such file or directory: \"{}\"", input));
    if (fs::is_regular_file(status)) {
      files.push_back(InputFile{input, fs::path(input).filename().string()});
      continue;
    }
    if (!fs::is_directory(status))
      return absl::InvalidArgumentError(fmt::format("\"{}\" is not a file or directory", input));
    std::vector<InputFile> found;
    for (auto it = fs::recursive_directory_iterator(input, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (IsHiddenOrMarker(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file()) continue;
      found.push_back(InputFile{it->path().string(), fs::relative(it->path(), input).string()});
    }
    if (error)
      return absl::InternalError(fmt::format("cannot list \"{}\": {}", input, error.message()));
    if (found.empty()) skipped.push_back(fmt::format("{}: the directory has no data files", input));
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.relative_path < b.relative_path; });
    for (auto& file : found) files.push_back(std::move(file));
  }
  return files;
}

// Reads `name=value` folders of the relative path as partition values.
absl::Status ParsePartitions(InputFile& file) {
  std::vector<std::string_view> segments = Split(file.relative_path, '/');
  segments.pop_back();  // the file name
  for (std::string_view segment : segments) {
    const size_t eq = segment.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(segment.substr(0, eq));
    std::string value(segment.substr(eq + 1));
    if (!ValidateIdentifier(name, "partition column").ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "\"{}\": partition folder \"{}\" needs a lowercase name (letters, digits, '_')",
          file.local_path, segment));
    }
    if (value.empty() || !std::all_of(value.begin(), value.end(), IsSafeChar) ||
        value.find('=') != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("\"{}\": partition value \"{}\" may only use letters, digits and . _ - :",
                      file.local_path, value));
    }
    if (file.partitions.contains(name)) {
      return absl::InvalidArgumentError(
          fmt::format("\"{}\": partition \"{}\" appears twice", file.local_path, name));
    }
    file.partitions[name] = value;
  }
  return absl::OkStatus();
}

std::vector<std::string> KeysOf(const std::map<std::string, std::string>& partitions) {
  std::vector<std::string> keys;
  for (const auto& [name, value] : partitions) keys.push_back(name);
  return keys;
}

std::string Describe(const std::vector<std::string>& names) {
  return names.empty() ? "no partition folders" : "(" + Join(names, ", ") + ")";
}

// What makes two files the same rows: their bytes and, as the rows' partition values come from
// their folders, their partition values.
std::string ContentIdentity(const std::string& hash,
                            const std::map<std::string, std::string>& partitions) {
  std::string identity = hash;
  for (const auto& [name, value] : partitions) identity += "\n" + name + "=" + value;
  return identity;
}

// The files whose rows `table` holds, as they were added: its live files, except that the files a
// compaction rewrote stand for the files it made of them (which have no content hash).
absl::StatusOr<std::vector<DataFile>> FilesAsLoaded(Catalog& catalog, const Principal& who,
                                                    const TableSnapshot& table) {
  ASSIGN_OR_RETURN(FileChanges since_start,
                   catalog.ChangesBetween(who, table.table.name, 0, table.table.current_snapshot));
  return std::move(since_start.added);
}

// Drops from `files` those whose content one of `table_files` (table `table`'s files) has,
// noting each in `result`.
void SkipContentTheTableHas(const TableName& table, const std::vector<DataFile>& table_files,
                            std::vector<InputFile>& files, LoadResult& result) {
  std::map<std::string, const DataFile*> by_hash;
  for (const DataFile& file : table_files) {
    if (!file.content_hash.empty())
      by_hash.emplace(ContentIdentity(file.content_hash, file.partition_values), &file);
  }
  std::erase_if(files, [&](const InputFile& file) {
    auto held = by_hash.find(ContentIdentity(file.content_hash, file.partitions));
    if (held == by_hash.end()) return false;
    result.skipped.push_back(
        fmt::format("{}: {} already has this content (in {}); --allow-duplicates loads it again",
                    file.local_path, table.ToString(), held->second->key));
    ++result.duplicates;
    return true;
  });
}

// The first row of `sql`'s answer (empty if it has none).
absl::StatusOr<std::vector<std::optional<std::string>>> FirstRow(LakeEngine& engine,
                                                                 const Principal& who,
                                                                 const std::string& sql) {
  ASSIGN_OR_RETURN(std::unique_ptr<QueryCursor> cursor, engine.Query(who, sql));
  std::vector<std::optional<std::string>> row;
  ASSIGN_OR_RETURN(std::optional<ResultChunk> chunk, cursor->Next());
  if (!chunk.has_value() || chunk->row_count == 0) return row;
  for (const auto& column : chunk->cells) row.push_back(column[0]);
  return row;
}

}  // namespace

absl::Status Loader::CheckHintFormats(const Principal& who, const std::vector<ColumnHint>& hints) {
  for (const ColumnHint& hint : hints) {
    if (hint.formats.empty()) continue;
    Column column(hint.column, hint.type);
    column.metadata["datetime_formats"] = hint.formats;
    const absl::Status status =
        FirstRow(engine_, who, "SELECT " + ParseTextSql("'2000-01-01'", column)).status();
    if (!status.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "--timestamp-format {}: {}", Join(hint.formats, ", "), ToStd(status.message())));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> Loader::UnreadableHintedValues(const Principal& who,
                                                        const TableName& table,
                                                        const Schema& schema,
                                                        const std::vector<ColumnHint>& hints) {
  std::vector<std::string> lines;
  for (const ColumnHint& hint : hints) {
    const Column* column = schema.Find(hint.column);
    const std::string raw = column == nullptr ? "" : column->metadata.value("raw_column", "");
    if (raw.empty() || !ParsedFromText(*column)) continue;
    auto counted =
        FirstRow(engine_, who,
                 fmt::format("SELECT count(*) FILTER (WHERE {0} IS NULL AND {1} IS NOT NULL), "
                             "count({1}) FROM {2}.{3}",
                             QuoteIdentifier(column->name), QuoteIdentifier(raw),
                             QuoteIdentifier(table.database), QuoteIdentifier(table.table)));
    // A report line, not the load's outcome: a failure to count says nothing.
    if (!counted.ok() || counted->size() < 2 || counted->at(0).value_or("0") == "0") continue;
    lines.push_back(fmt::format(
        "{}.{}: {} of {} value(s) in the table do not read as {} (--column); they read as NULL "
        "and their text stays in {}",
        table.ToString(), column->name, *counted->at(0), counted->at(1).value_or("?"), column->type,
        raw));
  }
  return lines;
}

absl::StatusOr<LoadResult> Loader::Load(const Principal& who, const LoadRequest& request,
                                        const Progress& progress) {
  LoadResult result;
  RETURN_IF_ERROR(CheckHintFormats(who, request.column_hints));
  ASSIGN_OR_RETURN(std::vector<InputFile> inputs, ExpandInputs(request.inputs, result.skipped));

  // 1. Check everything before copying anything.
  std::vector<InputFile> files;
  for (InputFile& file : inputs) {
    std::error_code error;
    file.size = static_cast<int64_t>(fs::file_size(file.local_path, error));
    if (!error && file.size == 0) {
      result.skipped.push_back(fmt::format("{}: empty file", file.local_path));
      continue;
    }
    ASSIGN_OR_RETURN(file.format, DetectFileFormat(file.local_path));
    RETURN_IF_ERROR(ParsePartitions(file));
    ASSIGN_OR_RETURN(file.content_hash, Sha256OfFile(file.local_path));
    files.push_back(std::move(file));
  }
  if (!request.allow_duplicates) {
    std::map<std::string, std::string> first_with;  // ContentIdentity -> its first file
    std::erase_if(files, [&](const InputFile& file) {
      auto [first, inserted] =
          first_with.emplace(ContentIdentity(file.content_hash, file.partitions), file.local_path);
      if (inserted) return false;
      result.skipped.push_back(
          fmt::format("{}: the same content as {}", file.local_path, first->second));
      ++result.duplicates;
      return true;
    });
  }
  if (files.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("nothing to load into {}{}", request.table.ToString(),
                    result.skipped.empty() ? "" : ": " + Join(result.skipped, "; ")));
  }
  const std::vector<std::string> partition_names = KeysOf(files.front().partitions);
  for (const InputFile& file : files) {
    if (KeysOf(file.partitions) != partition_names) {
      return absl::InvalidArgumentError(fmt::format(
          "\"{}\" has {} but \"{}\" has {}: all files of a load need the same partition folders",
          files.front().local_path, Describe(partition_names), file.local_path,
          Describe(KeysOf(file.partitions))));
    }
  }
  auto existing = catalog_.ReadTable(who, request.table, std::nullopt);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  if (existing.ok() && !request.allow_duplicates) {
    ASSIGN_OR_RETURN(std::vector<DataFile> loaded, FilesAsLoaded(catalog_, who, *existing));
    SkipContentTheTableHas(request.table, loaded, files, result);
    if (files.empty()) return result;  // all there already: nothing to do
  }
  if (existing.ok()) {
    std::vector<std::string> table_partitions;
    for (const Column& column : existing->table.schema.partition_columns)
      table_partitions.push_back(column.name);
    std::sort(table_partitions.begin(), table_partitions.end());
    if (table_partitions != partition_names) {
      return absl::InvalidArgumentError(fmt::format(
          "table {} is partitioned by {} but the files have {}", request.table.ToString(),
          Describe(table_partitions), Describe(partition_names)));
    }
  }

  // 2. Copy into the raw zone, then profile the copies.
  result.load_id = NewTimeOrderedId();
  const std::string prefix = fmt::format("raw/{}/{}/", request.table.database, request.table.table);
  std::vector<std::string> copied;
  auto cleanup = [&](const absl::Status& status) {
    for (const std::string& key : copied) store_.Delete(key).IgnoreError();
    return status;
  };
  for (size_t i = 0; i < files.size(); ++i) {
    InputFile& file = files[i];
    std::vector<std::string> segments;
    for (std::string_view segment : Split(file.relative_path, '/'))
      segments.push_back(SanitizeSegment(segment));
    file.key = prefix + result.load_id + "/" + Join(segments, "/");
    absl::Status put = store_.PutFile(file.key, file.local_path);
    if (!put.ok())
      return cleanup(Annotate(put, fmt::format("copying \"{}\" into the lake", file.local_path)));
    copied.push_back(file.key);
    auto stored = store_.Head(file.key);
    if (!stored.ok()) return cleanup(stored.status());
    file.etag = stored->etag;
    if (progress) progress(i + 1, files.size());
  }
  // Profiled per format, many files per query (engine batches them).
  std::map<std::string, std::vector<size_t>> by_format;
  for (size_t i = 0; i < files.size(); ++i) by_format[files[i].format.format].push_back(i);
  for (const auto& [format, indexes] : by_format) {
    std::vector<std::string> keys;
    for (size_t i : indexes) keys.push_back(files[i].key);
    std::vector<absl::StatusOr<FileProfile>> profiles = engine_.ProfileFiles(keys, format);
    for (size_t j = 0; j < indexes.size(); ++j) {
      InputFile& file = files[indexes[j]];
      if (!profiles[j].ok()) {
        return cleanup(absl::Status(profiles[j].status().code(),
                                    fmt::format("cannot load \"{}\": {}", file.local_path,
                                                ToStd(profiles[j].status().message()))));
      }
      file.profile = std::move(*profiles[j]);
    }
  }

  // 3. Commit, retrying on conflicts with concurrent writers.
  for (int attempt = 1; attempt <= kMaxCommitAttempts; ++attempt) {
    auto current = catalog_.ReadTable(who, request.table, std::nullopt);
    if (!current.ok() && !absl::IsNotFound(current.status())) return cleanup(current.status());
    const bool create = !current.ok();
    if (!create && !request.allow_duplicates) {  // a concurrent load may have added some
      std::vector<InputFile> added_meanwhile = files;
      auto loaded = FilesAsLoaded(catalog_, who, *current);
      if (!loaded.ok()) return cleanup(loaded.status());
      SkipContentTheTableHas(request.table, *loaded, files, result);
      if (files.size() != added_meanwhile.size()) {
        for (const InputFile& file : added_meanwhile) {
          if (std::none_of(files.begin(), files.end(),
                           [&](const InputFile& kept) { return kept.key == file.key; })) {
            store_.Delete(file.key).IgnoreError();
            std::erase(copied, file.key);
          }
        }
        if (files.empty()) return result;
      }
    }
    Schema schema = create ? Schema{} : current->table.schema;
    if (create) {
      for (const std::string& name : partition_names) {
        std::vector<std::string> values;
        for (const InputFile& file : files) values.push_back(file.partitions.at(name));
        schema.partition_columns.emplace_back(name, InferPartitionType(values));
      }
    }
    // Each file joins the schema as on every loading path (schema/schema_policy.h).
    SchemaChange change;
    std::vector<DataFile> registered;
    UnparsedSummary unparsed;
    result.typed_text.clear();
    result.warnings.clear();
    for (const InputFile& file : files) {
      DataFile data;
      data.key = file.key;
      data.format = file.format.format;
      data.compression = file.format.compression;
      data.size_bytes = file.size;
      data.etag = file.etag;
      data.content_hash = file.content_hash;
      data.row_count = file.profile.row_count;
      data.partition_values = file.partitions;
      data.stats = file.profile.stats;
      FileMerge merged = MergeFile(schema, file.profile, data, request.table.ToString());
      if (!merged.refused.empty()) {
        return cleanup(absl::InvalidArgumentError(
            fmt::format("cannot load \"{}\": {}", file.local_path, merged.refused)));
      }
      schema = std::move(merged.schema);
      change.Include(merged.change);
      ApplyColumnHints(schema, request.column_hints, change);
      // One line per column ("name: TYPE from ..."): a later file's line says how the column
      // reads now (formats only accumulate), so it replaces the earlier one.
      for (std::string& line : merged.typed_text) {
        const std::string column = line.substr(0, line.find(':') + 1);
        std::erase_if(result.typed_text,
                      [&](const std::string& old) { return old.starts_with(column); });
        result.typed_text.push_back(std::move(line));
      }
      for (std::string& warning : merged.warnings) result.warnings.push_back(std::move(warning));
      unparsed.Add(file.local_path, merged.unparsed);
      registered.push_back(std::move(merged.file));
    }
    for (std::string& line : unparsed.Lines(request.table.ToString()))
      result.warnings.push_back(std::move(line));
    for (const ColumnHint& hint : request.column_hints) {
      if (std::any_of(schema.partition_columns.begin(), schema.partition_columns.end(),
                      [&](const Column& column) { return column.name == hint.column; })) {
        return cleanup(absl::InvalidArgumentError(fmt::format(
            "--column {}: a partition column, typed from its folders' values (BIGINT, DATE or "
            "VARCHAR); hints type the files' columns",
            hint.column)));
      }
      if (schema.Find(hint.column) != nullptr) continue;
      std::vector<std::string> names;
      for (const Column& column : schema.columns) names.push_back(column.name);
      const std::optional<std::string> closest = ClosestMatch(hint.column, names);
      return cleanup(absl::InvalidArgumentError(fmt::format(
          "--column {}: the files have no column \"{}\"{}; their columns: {}", hint.column,
          hint.column, closest ? fmt::format(" (did you mean {}?)", *closest) : "",
          Join(names, ", "))));
    }

    if (request.dry_run) {
      result.dry_run = true;
      result.files = static_cast<int64_t>(files.size());
      result.created_table = create;
      result.schema = schema;
      result.schema_change = change;
      result.partition_columns = partition_names;
      for (const DataFile& data : registered) {
        result.rows += data.row_count;
        result.bytes += data.size_bytes;
      }
      cleanup(absl::OkStatus()).IgnoreError();
      return result;
    }
    if (create) {
      absl::Status database =
          catalog_.CreateDatabase(who, request.table.database, /*if_not_exists=*/true);
      if (!database.ok()) return cleanup(database);
    }
    TableCommit commit;
    commit.table = request.table;
    commit.base_snapshot = create ? TableCommit::kCreate : current->table.current_snapshot;
    commit.operation = create ? "create" : "append";
    commit.message = fmt::format("loch load: {} file(s), load {}", files.size(), result.load_id);
    commit.location = prefix;
    if (create || schema.columns != current->table.schema.columns) commit.new_schema = schema;
    result.rows = 0;
    result.bytes = 0;
    for (DataFile& data : registered) {
      result.rows += data.row_count;
      result.bytes += data.size_bytes;
      data.owned = true;  // the load's copy: the user's file stays where it was
      commit.add_files.push_back(std::move(data));
    }
    commit.summary = {
        {"files_added", files.size()}, {"rows_added", result.rows}, {"bytes_added", result.bytes}};
    auto committed = catalog_.Commit(who, commit);
    if (committed.ok()) {
      for (std::string& line :
           UnreadableHintedValues(who, request.table, schema, request.column_hints))
        result.warnings.push_back(std::move(line));
      result.files = static_cast<int64_t>(files.size());
      result.created_table = create;
      result.snapshot_id = committed->snapshot_id;
      result.schema_version = committed->schema_version;
      result.schema_change = change;
      result.schema = std::move(schema);
      result.partition_columns = partition_names;
      return result;
    }
    if (!LostCommitRace(committed.status(), create)) return cleanup(committed.status());
  }
  return cleanup(absl::AbortedError(fmt::format(
      "table {} kept changing under concurrent writers; gave up after {} attempts, retry the load",
      request.table.ToString(), kMaxCommitAttempts)));
}

}  // namespace loch
