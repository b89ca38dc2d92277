#include "crawl/crawler.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "common/lake_config.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "load/file_format.h"
#include "schema/schema_policy.h"

namespace loch {

struct Crawler::Candidate {
  ObjectInfo object;
  std::map<std::string, std::string> partitions;
  std::string table_location;                           // key prefix of the table's folder
  std::vector<std::string> partition_order;             // partition names in folder order
  const JsonShape* shape = nullptr;                     // known by whoever wrote the object
  std::optional<int64_t> expected_rows = std::nullopt;  // known by whoever wrote the object
};

namespace {

using Candidate = Crawler::Candidate;

// An object read during this crawl.
struct ReadObject {
  DataFile file;
  FileProfile profile;
};

std::string TableNameFrom(std::string_view folder) {
  std::string name;
  for (char c : folder) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    name += (std::isalnum(static_cast<unsigned char>(lower)) != 0) ? lower : '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) != 0) name = "t_" + name;
  return name.substr(0, 64);
}

// Partition names in the order their folders nest (PartitionsFromFolders' map is sorted by name).
std::vector<std::string> PartitionOrder(const std::vector<std::string>& folders) {
  static const char* kDateNames[] = {"year", "month", "day", "hour"};
  std::vector<std::string> names;
  for (size_t i = 0; i < folders.size(); ++i) {
    const size_t eq = folders[i].find('=');
    names.push_back(eq == std::string::npos ? kDateNames[std::min<size_t>(i, 3)]
                                            : TableNameFrom(folders[i].substr(0, eq)));
  }
  return names;
}

std::string PartitionPath(const std::map<std::string, std::string>& partitions,
                          const std::vector<Column>& order) {
  std::vector<std::string> parts;
  for (const Column& column : order) {
    if (auto it = partitions.find(column.name); it != partitions.end())
      parts.push_back(column.name + "=" + it->second);
  }
  return Join(parts, "/");
}

}  // namespace

std::optional<std::map<std::string, std::string>> PartitionsFromFolders(
    const std::vector<std::string>& folders) {
  std::map<std::string, std::string> values;
  if (folders.empty()) return values;
  const bool hive = std::all_of(folders.begin(), folders.end(), [](const std::string& f) {
    return f.find('=') != std::string::npos;
  });
  if (hive) {
    for (const std::string& folder : folders) {
      const size_t eq = folder.find('=');
      const std::string name = TableNameFrom(folder.substr(0, eq));
      if (values.contains(name)) return std::nullopt;
      values[name] = folder.substr(eq + 1);
    }
    return values;
  }
  static const std::regex kYear("[12][0-9]{3}"), kTwoDigits("[0-9]{2}");
  static const char* kNames[] = {"year", "month", "day", "hour"};
  if (folders.size() > 4 || !std::regex_match(folders[0], kYear)) return std::nullopt;
  for (size_t i = 0; i < folders.size(); ++i) {
    if (i > 0 && !std::regex_match(folders[i], kTwoDigits)) return std::nullopt;
    values[kNames[i]] = folders[i];
  }
  return values;
}

namespace {

std::string NormalizePrefix(std::string prefix) {
  while (prefix.starts_with('/')) prefix.erase(0, 1);
  if (!prefix.empty() && !prefix.ends_with('/')) prefix += '/';
  return prefix;
}

// Folds one object's columns into `schema` under `policy` (the joining itself is the schema
// policy every loading path shares). Returns false if the object must not be added: it cannot
// join the table at all (named in `skipped`), under policy log (a warning says why) or fail
// (`failure` says why; the table must not change at all).
bool MergeObject(Schema& schema, ReadObject& object, SchemaChangePolicy policy,
                 CrawlReport::TableChange& change, CrawlReport& report, UnparsedSummary& unparsed,
                 std::string& failure) {
  std::vector<std::string>& warnings = report.warnings;
  FileMerge merged = MergeFile(schema, object.profile, object.file, change.table);
  if (!merged.refused.empty()) {
    report.skipped.push_back(fmt::format("{}: not added: {}", object.file.key, merged.refused));
    return false;
  }
  std::vector<std::string> changed = merged.change.widened;  // existing columns readers see change
  changed.insert(changed.end(), merged.change.renamed.begin(), merged.change.renamed.end());
  if (!changed.empty()) {
    const std::string what =
        fmt::format("{} would change column(s) {}", object.file.key, Join(changed, ", "));
    if (policy == SchemaChangePolicy::kLog) {
      warnings.push_back(fmt::format("{}: not added (schema-change policy log)", what));
      return false;
    }
    if (policy == SchemaChangePolicy::kFail) {
      failure = fmt::format("{} (schema-change policy fail; the table is unchanged)", what);
      return false;
    }
  }
  schema = std::move(merged.schema);
  object.file = std::move(merged.file);
  change.columns_added.insert(change.columns_added.end(), merged.change.added.begin(),
                              merged.change.added.end());
  change.columns_added.insert(change.columns_added.end(), merged.change.typed.begin(),
                              merged.change.typed.end());
  change.columns_changed.insert(change.columns_changed.end(), changed.begin(), changed.end());
  for (const std::string& line : merged.typed_text) {
    const std::string name = line.substr(0, line.find(':'));
    std::erase_if(change.typed_columns,
                  [&](const std::string& old) { return old.starts_with(name + ": "); });
    change.typed_columns.push_back(line);
  }
  warnings.insert(warnings.end(), merged.warnings.begin(), merged.warnings.end());
  unparsed.Add(object.file.key, merged.unparsed);
  return true;
}

}  // namespace

absl::StatusOr<CrawlReport> Crawler::Crawl(const Principal& who, const CrawlRequest& request,
                                           const ProgressListener& progress) {
  RETURN_IF_ERROR(ValidateIdentifier(request.database, "database"));
  if (request.prefixes.empty())
    return absl::InvalidArgumentError("name at least one prefix to crawl, e.g. raw/");
  CrawlReport report;
  std::map<std::string, std::vector<Candidate>> by_table;  // table name -> objects
  std::set<std::string> present;  // every key listed, tables' or not (skipped ones too)
  std::vector<std::string> prefixes;
  for (const std::string& given : request.prefixes) {
    prefixes.push_back(NormalizePrefix(given));
    for (std::string_view zone : kWrittenZones) {
      if (prefixes.back().starts_with(zone)) {
        return absl::InvalidArgumentError(fmt::format(
            "cannot crawl \"{}\": {} holds the files loch writes (of CTAS, INSERT, jobs and "
            "their quarantines, the raw objects compactions archived, and the catalog's "
            "journal); they are not raw data",
            given, zone));
      }
    }
  }
  int64_t curated_skipped = 0, queued_skipped = 0;
  for (const std::string& prefix : prefixes) {
    ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, ListAll(store_, prefix));
    // Objects waiting for deletion: a compaction moved them to the archive (or vacuum expired
    // them). Queued after they were listed, they are refused when registered.
    ASSIGN_OR_RETURN(std::vector<std::string> queued_keys, catalog_.QueuedKeys(who, prefix));
    const std::set<std::string> queued(queued_keys.begin(), queued_keys.end());
    report.objects_listed += static_cast<int64_t>(objects.size());
    for (ObjectInfo& object : objects) {
      if (std::any_of(std::begin(kWrittenZones), std::end(kWrittenZones),
                      [&](std::string_view zone) { return object.key.starts_with(zone); })) {
        // a prefix above them: loch's own tables' files
        ++curated_skipped;
        continue;
      }
      if (queued.contains(object.key)) {
        ++queued_skipped;
        continue;
      }
      present.insert(object.key);
      std::vector<std::string> folders;
      for (std::string_view segment :
           Split(std::string_view(object.key).substr(prefix.size()), '/')) {
        folders.emplace_back(segment);
      }
      folders.pop_back();  // the file name
      std::string table;
      std::string location = prefix;
      // Files right under the prefix, or partition folders right under it (raw/logs/2026/11/...,
      // raw/logs/region=eu/...): the prefix is the table. Otherwise its first folder is.
      const bool prefix_is_table =
          folders.empty() ||
          (PartitionsFromFolders(folders).has_value() &&
           (folders.front().find('=') != std::string::npos ||
            (folders.front().size() == 4 &&
             std::all_of(folders.front().begin(), folders.front().end(),
                         [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))));
      if (prefix_is_table) {
        std::vector<std::string_view> prefix_parts = Split(prefix, '/');
        table = TableNameFrom(prefix_parts.size() >= 2 ? prefix_parts[prefix_parts.size() - 2]
                                                       : "objects");
      } else {
        table = TableNameFrom(folders.front());
        location += folders.front() + "/";
        folders.erase(folders.begin());
      }
      auto partitions = PartitionsFromFolders(folders);
      if (!partitions.has_value()) {
        report.skipped.push_back(
            fmt::format("{}: its folders are neither name=value nor yyyy/mm/dd/hh", object.key));
        continue;
      }
      by_table[table].push_back(
          Candidate{std::move(object), std::move(*partitions), location, PartitionOrder(folders)});
    }
  }
  if (curated_skipped > 0) {
    report.warnings.push_back(fmt::format(
        "{} object(s) under {} left alone: they are the files loch writes",
        curated_skipped, Join(std::vector<std::string>(std::begin(kWrittenZones),
                                                       std::end(kWrittenZones)),
                              ", ")));
  }
  if (queued_skipped > 0) {
    report.warnings.push_back(fmt::format(
        "{} object(s) left alone: they wait for deletion (compacted into the curated zone and "
        "archived, or expired by vacuum)",
        queued_skipped));
  }
  // Tables this crawler made earlier whose objects may all be gone.
  auto tables = catalog_.ListTables(who, request.database);
  if (tables.ok()) {
    for (const TableInfo& table : *tables) {
      for (const std::string& prefix : prefixes) {
        if (table.location.starts_with(prefix)) by_table.try_emplace(table.name.table);
      }
    }
  } else if (!absl::IsNotFound(tables.status())) {
    return tables.status();
  }

  Progress done{0, by_table.size(), 0, 0};
  for (const auto& [table_name, candidates] : by_table) {
    for (const Candidate& candidate : candidates)
      done.bytes += static_cast<int64_t>(candidate.object.size);
  }
  for (const auto& [table_name, candidates] : by_table) {
    if (progress) progress(done);
    ASSIGN_OR_RETURN(auto change, CrawlTable(who, request, TableName{request.database, table_name},
                                             candidates, &present, report));
    if (change) report.tables.push_back(std::move(*change));
    ++done.tables_done;
    for (const Candidate& candidate : candidates)
      done.bytes_done += static_cast<int64_t>(candidate.object.size);
    if (progress) progress(done);
  }
  return report;
}

absl::StatusOr<std::optional<CrawlReport::TableChange>> Crawler::AddObjects(
    const Principal& who, const TableName& name, const std::string& location,
    const std::vector<NewObject>& objects, CrawlReport& report) {
  CrawlRequest request;
  request.database = name.database;
  request.schema_change = SchemaChangePolicy::kUpdate;
  request.deletes = DeletePolicy::kLog;
  request.recrawl = RecrawlPolicy::kNew;
  std::vector<Candidate> candidates;
  for (const NewObject& object : objects) {
    Candidate candidate{object.object,
                        {},
                        NormalizePrefix(location),
                        {},
                        object.shape ? &*object.shape : nullptr,
                        object.expected_rows};
    for (const auto& [partition, value] : object.partitions) {
      candidate.partitions[partition] = value;
      candidate.partition_order.push_back(partition);
    }
    candidates.push_back(std::move(candidate));
  }
  return CrawlTable(who, request, name, candidates, /*present=*/nullptr, report);
}

absl::StatusOr<std::optional<CrawlReport::TableChange>> Crawler::CrawlTable(
    const Principal& who, const CrawlRequest& request, const TableName& name,
    const std::vector<Candidate>& candidates, const std::set<std::string>* present,
    CrawlReport& report) {
  const bool additions_only = present == nullptr;
  auto existing = catalog_.ReadTable(who, name, std::nullopt);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  if (existing.ok() && request.recrawl == RecrawlPolicy::kEverything) {
    // A compacted table's raw objects are archived (lifecycle/compaction.h): a schema inferred
    // again from the listed objects would miss what only the compacted files hold.
    ASSIGN_OR_RETURN(std::vector<SnapshotInfo> history, catalog_.ListSnapshots(who, name));
    if (std::any_of(history.begin(), history.end(), [](const SnapshotInfo& snapshot) {
          return snapshot.operation == kCompactOperation;
        })) {
      report.warnings.push_back(fmt::format(
          "{} was compacted: only its new objects were read (re-reading every object cannot "
          "rebuild the schema of what the compacted files hold)",
          name.ToString()));
      CrawlRequest new_only = request;
      new_only.recrawl = RecrawlPolicy::kNew;
      return CrawlTable(who, new_only, name, candidates, present, report);
    }
  }
  std::map<std::string, const DataFile*> known;  // key -> file the table holds
  std::set<std::string> known_partitions;
  if (existing.ok()) {
    for (const DataFile& file : existing->files) {
      known[file.key] = &file;
      known_partitions.insert(
          PartitionPath(file.partition_values, existing->table.schema.partition_columns));
    }
  }
  std::set<std::string> listed;
  for (const Candidate& candidate : candidates) listed.insert(candidate.object.key);
  // Gone from the store: below a prefix this crawl listed, yet not listed. (A file below another
  // prefix, e.g. after `crawler update --prefix`, is not known to be gone.)
  std::vector<std::string> crawled_prefixes;
  for (const std::string& prefix : request.prefixes)
    crawled_prefixes.push_back(NormalizePrefix(prefix));
  auto gone = [&](const std::string& key) {
    if (additions_only || present->contains(key)) return false;
    return std::any_of(crawled_prefixes.begin(), crawled_prefixes.end(),
                       [&](const std::string& prefix) { return key.starts_with(prefix); });
  };
  std::vector<const DataFile*> missing;
  for (const auto& [key, file] : known) {
    if (gone(key)) missing.push_back(file);
  }

  // Read what is new (or everything): classify each object, then profile them by format, many
  // files per query.
  struct Pending {
    const Candidate* candidate;
    FileFormat format;
  };
  std::map<std::string, std::vector<Pending>> by_format;
  for (const Candidate& candidate : candidates) {
    auto held = known.find(candidate.object.key);
    if (request.recrawl == RecrawlPolicy::kNew && held != known.end() &&
        held->second->etag == candidate.object.etag) {
      ++report.objects_unchanged;
      continue;
    }
    if (candidate.object.size == 0) {
      report.skipped.push_back(fmt::format("{}: empty", candidate.object.key));
      continue;
    }
    auto head = store_.GetRange(candidate.object.key, 0,
                                std::min<uint64_t>(candidate.object.size, kFormatHeadBytes));
    if (!head.ok()) return head.status();
    auto format = DetectFormat(candidate.object.key, *head);
    if (!format.ok()) {
      report.skipped.push_back(
          fmt::format("{}: {}", candidate.object.key, ToStd(format.status().message())));
      continue;
    }
    by_format[format->format].push_back(Pending{&candidate, *format});
  }
  std::vector<ReadObject> read;
  std::vector<const Candidate*> read_from;
  for (const auto& [format_name, pending] : by_format) {
    std::vector<std::string> keys;
    std::vector<const JsonShape*> shapes;
    for (const Pending& item : pending) {
      keys.push_back(item.candidate->object.key);
      shapes.push_back(item.candidate->shape);
    }
    std::vector<absl::StatusOr<FileProfile>> profiles =
        engine_.ProfileFiles(keys, format_name, shapes);
    for (size_t i = 0; i < pending.size(); ++i) {
      const Candidate& candidate = *pending[i].candidate;
      ++report.objects_read;
      if (!profiles[i].ok()) {
        report.skipped.push_back(
            fmt::format("{}: unreadable: {}", candidate.object.key,
                        Split(ToStd(profiles[i].status().message()), '\n').front()));
        continue;
      }
      if (candidate.expected_rows && profiles[i]->row_count != *candidate.expected_rows) {
        report.skipped.push_back(fmt::format("{}: read {} row(s) where its writer put {}",
                                             candidate.object.key, profiles[i]->row_count,
                                             *candidate.expected_rows));
        continue;
      }
      ReadObject object;
      object.file.key = candidate.object.key;
      object.file.etag = candidate.object.etag;
      object.file.format = pending[i].format.format;
      object.file.compression = pending[i].format.compression;
      object.file.size_bytes = static_cast<int64_t>(candidate.object.size);
      object.file.row_count = profiles[i]->row_count;
      object.file.partition_values = candidate.partitions;
      object.file.stats = profiles[i]->stats;
      object.profile = std::move(*profiles[i]);
      read.push_back(std::move(object));
      read_from.push_back(&candidate);
    }
  }
  const bool removing = !missing.empty() && request.deletes != DeletePolicy::kLog;
  if (!missing.empty() && request.deletes == DeletePolicy::kLog) {
    report.warnings.push_back(fmt::format(
        "{}: {} object(s) it holds are gone from the store (e.g. {}); kept in the table (deletes "
        "policy log): queries reading them fail, others work; --deletes delete removes them "
        "(`loch crawler update NAME --deletes delete`)",
        name.ToString(), missing.size(), missing.front()->key));
  }
  if (read.empty() && !removing && request.recrawl == RecrawlPolicy::kNew) return std::nullopt;

  for (int attempt = 1;; ++attempt) {
    auto current = catalog_.ReadTable(who, name, std::nullopt);
    if (!current.ok() && !absl::IsNotFound(current.status())) return current.status();
    const bool create = !current.ok();
    if (create && read.empty()) return std::nullopt;  // gone before we got here
    const bool rebuild = request.recrawl == RecrawlPolicy::kEverything;
    Schema schema = create || rebuild ? Schema{} : current->table.schema;
    if (rebuild && !create) {
      // A rebuild infers the types again, but what people said about the table stays: its
      // comment, and the columns they typed (hints) or renamed (which name them in the files).
      const Schema& kept = current->table.schema;
      schema.partition_columns = kept.partition_columns;
      schema.comment = kept.comment;
      for (const Column& column : kept.columns) {
        if (column.metadata.contains("hint") || column.metadata.contains("file_names"))
          schema.columns.push_back(column);
      }
    }
    CrawlReport::TableChange change;
    change.table = name.ToString();
    change.outcome = create ? "created" : "updated";

    // Partition columns first, so that same-named file columns yield to them.
    std::vector<std::string> partition_names;  // first-seen folder order
    for (const Candidate* candidate : read_from) {
      for (const std::string& partition : candidate->partition_order) {
        if (std::find(partition_names.begin(), partition_names.end(), partition) ==
            partition_names.end()) {
          partition_names.push_back(partition);
        }
      }
    }
    bool partitions_changed = false;
    for (const std::string& partition : partition_names) {
      if (std::any_of(schema.partition_columns.begin(), schema.partition_columns.end(),
                      [&](const Column& c) { return c.name == partition; })) {
        continue;
      }
      std::erase_if(schema.columns, [&](const Column& c) { return c.name == partition; });
      std::vector<std::string> values;
      for (const ReadObject& object : read) {
        if (object.file.partition_values.contains(partition))
          values.push_back(object.file.partition_values.at(partition));
      }
      schema.partition_columns.emplace_back(partition, InferPartitionType(values));
      partitions_changed = true;
    }

    const size_t warnings_before = report.warnings.size();
    const size_t skipped_before = report.skipped.size();
    std::vector<DataFile> added;
    std::string failure;
    const Schema before = schema;
    UnparsedSummary unparsed;
    for (ReadObject object : read) {
      if (!MergeObject(schema, object, request.schema_change, change, report, unparsed, failure)) {
        if (!failure.empty()) break;
        continue;
      }
      added.push_back(std::move(object.file));
    }
    for (std::string& line : unparsed.Lines(name.ToString()))
      report.warnings.push_back(std::move(line));
    if (rebuild && !create) {  // column comments stay with the columns of their name
      for (Column& column : schema.columns) {
        const Column* old = current->table.schema.Find(column.name);
        if (old != nullptr && column.comment.empty()) column.comment = old->comment;
      }
    }
    if (!failure.empty()) {
      change.outcome = "failed";
      change.failure = failure;
      change.files_added = 0;
      change.columns_added.clear();
      change.columns_changed.clear();
      return std::optional<CrawlReport::TableChange>(std::move(change));
    }

    TableCommit commit;
    commit.table = name;
    commit.base_snapshot = create ? TableCommit::kCreate : current->table.current_snapshot;
    commit.operation = create ? "create" : (rebuild ? "overwrite" : "append");
    commit.location = candidates.empty() ? "" : candidates.front().table_location;
    std::set<int64_t> removed;
    if (!create) {
      for (const DataFile& file : current->files) {
        const bool is_gone = gone(file.key);
        const bool replaced = std::any_of(added.begin(), added.end(),
                                          [&](const DataFile& a) { return a.key == file.key; });
        // A rebuild re-reads every listed object; files it cannot list it leaves alone.
        const bool reread = rebuild && listed.contains(file.key);
        if ((is_gone && removing) || replaced || reread) removed.insert(file.file_id);
      }
      change.files_removed = static_cast<int64_t>(std::count_if(
          current->files.begin(), current->files.end(),
          [&](const DataFile& f) { return removed.contains(f.file_id) && gone(f.key); }));
    }
    commit.remove_file_ids.assign(removed.begin(), removed.end());
    const bool emptied = !create && added.empty() && removed.size() == current->files.size() &&
                         !current->files.empty();
    if (emptied && request.deletes == DeletePolicy::kDelete) {
      auto dropped = catalog_.DropTable(who, name);
      if (dropped.ok()) {
        change.outcome = "dropped";
        report.warnings.push_back(fmt::format(
            "{}: every object it held is gone from the store; the table was dropped (deletes "
            "policy delete)",
            name.ToString()));
        return std::optional<CrawlReport::TableChange>(std::move(change));
      }
      if (!absl::IsNotFound(dropped.status()) || attempt == kMaxCommitAttempts)
        return dropped.status();
      report.warnings.resize(warnings_before);  // the retry reports again
      report.skipped.resize(skipped_before);
      continue;
    }
    if (create) RETURN_IF_ERROR(catalog_.CreateDatabase(who, request.database, true));
    if (create || partitions_changed || schema.columns != before.columns || rebuild) {
      commit.new_schema = schema;
    }
    commit.add_files = added;  // not owned: the producers' (crawled sources, stream deliveries)
    for (const DataFile& file : added) {
      change.rows_added += file.row_count;
      const std::string path = PartitionPath(file.partition_values, schema.partition_columns);
      if (!path.empty() && known_partitions.insert(path).second)
        change.partitions_added.push_back(path);
    }
    change.files_added = static_cast<int64_t>(added.size());
    commit.message =
        fmt::format("crawl: +{} object(s), -{} object(s)", added.size(), removed.size());
    commit.summary = {{"files_added", added.size()},
                      {"files_removed", removed.size()},
                      {"rows_added", change.rows_added}};
    if (emptied) {
      change.outcome = "deprecated";
      commit.summary["deprecated"] = true;
      commit.message = "crawl: every object is gone from the store; table deprecated";
    }
    if (commit.add_files.empty() && commit.remove_file_ids.empty() && !commit.new_schema) {
      return std::optional<CrawlReport::TableChange>();
    }
    auto committed = catalog_.Commit(who, commit);
    if (committed.ok()) {
      change.schema_version = committed->schema_version;
      return std::optional<CrawlReport::TableChange>(std::move(change));
    }
    report.warnings.resize(warnings_before);  // the retry reports again
    report.skipped.resize(skipped_before);
    if (!LostCommitRace(committed.status(), create) || attempt == kMaxCommitAttempts)
      return committed.status();
  }
}

}  // namespace loch
