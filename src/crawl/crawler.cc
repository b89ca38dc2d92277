#include "crawl/crawler.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "common/strings.h"
#include "fmt/format.h"
#include "load/file_format.h"
#include "load/schema_merge.h"

namespace loch {
namespace {

constexpr int kMaxCommitAttempts = 8;

std::string TableNameFrom(std::string_view folder) {
  std::string name;
  for (char c : folder) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    name += (std::isalnum(static_cast<unsigned char>(lower)) != 0) ? lower : '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) != 0) name = "t_" + name;
  return name.substr(0, 64);
}

struct Candidate {
  ObjectInfo object;
  std::map<std::string, std::string> partitions;
  std::string table_location;                // key prefix of the table's folder
  std::vector<std::string> partition_order;  // partition names in folder order
};

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

absl::StatusOr<CrawlReport> Crawler::Crawl(const Principal& who, const CrawlRequest& request) {
  RETURN_IF_ERROR(ValidateIdentifier(request.database, "database"));
  if (request.prefixes.empty())
    return absl::InvalidArgumentError("name at least one prefix to crawl, e.g. raw/");
  CrawlReport report;
  std::map<std::string, std::vector<Candidate>> by_table;  // table name -> objects
  for (std::string prefix : request.prefixes) {
    while (prefix.starts_with('/')) prefix.erase(0, 1);
    if (!prefix.empty() && !prefix.ends_with('/')) prefix += '/';
    ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, ListAll(store_, prefix));
    report.objects_listed += static_cast<int64_t>(objects.size());
    for (ObjectInfo& object : objects) {
      std::vector<std::string> folders;
      for (std::string_view segment :
           Split(std::string_view(object.key).substr(prefix.size()), '/')) {
        folders.emplace_back(segment);
      }
      folders.pop_back();  // the file name
      std::string table;
      std::string location = prefix;
      if (folders.empty()) {
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

  for (auto& [table_name, candidates] : by_table) {
    const TableName name{request.database, table_name};
    auto existing = catalog_.ReadTable(who, name, std::nullopt);
    if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
    std::set<std::pair<std::string, std::string>> known;  // key, etag
    std::set<std::string> known_partitions;
    if (existing.ok()) {
      for (const DataFile& file : existing->files) {
        known.emplace(file.key, file.etag);
        known_partitions.insert(
            PartitionPath(file.partition_values, existing->table.schema.partition_columns));
      }
    }
    // Read the new objects.
    std::vector<DataFile> added;
    std::vector<FileProfile> profiles;
    for (const Candidate& candidate : candidates) {
      if (known.contains({candidate.object.key, candidate.object.etag})) {
        ++report.objects_unchanged;
        continue;
      }
      if (candidate.object.size == 0) {
        report.skipped.push_back(fmt::format("{}: empty", candidate.object.key));
        continue;
      }
      auto head = store_.GetRange(candidate.object.key, 0, 4);
      if (!head.ok()) return head.status();
      auto format = DetectFormat(candidate.object.key, *head);
      if (!format.ok()) {
        report.skipped.push_back(
            fmt::format("{}: {}", candidate.object.key, ToStd(format.status().message())));
        continue;
      }
      ++report.objects_read;
      auto profile = engine_.ProfileFile(candidate.object.key, format->format);
      if (!profile.ok()) {
        report.skipped.push_back(
            fmt::format("{}: unreadable: {}", candidate.object.key,
                        Split(ToStd(profile.status().message()), '\n').front()));
        continue;
      }
      DataFile file;
      file.key = candidate.object.key;
      file.etag = candidate.object.etag;
      file.format = format->format;
      file.compression = format->compression;
      file.size_bytes = static_cast<int64_t>(candidate.object.size);
      file.row_count = profile->row_count;
      file.partition_values = candidate.partitions;
      file.stats = profile->stats;
      added.push_back(std::move(file));
      profiles.push_back(std::move(*profile));
    }
    if (added.empty()) continue;

    // Commit, retrying on conflicts.
    for (int attempt = 1;; ++attempt) {
      auto current = catalog_.ReadTable(who, name, std::nullopt);
      if (!current.ok() && !absl::IsNotFound(current.status())) return current.status();
      const bool create = !current.ok();
      if (create)
        RETURN_IF_ERROR(catalog_.CreateDatabase(who, request.database, /*if_not_exists=*/true));
      Schema schema = create ? Schema{} : current->table.schema;
      CrawlReport::TableChange change;
      change.table = name.ToString();
      change.created = create;
      for (const FileProfile& profile : profiles) {
        SchemaChange merged = MergeColumns(schema.columns, profile.columns);
        change.columns_added.insert(change.columns_added.end(), merged.added.begin(),
                                    merged.added.end());
        change.columns_widened.insert(change.columns_widened.end(), merged.widened.begin(),
                                      merged.widened.end());
      }
      std::vector<std::string> partition_names;  // first-seen folder order
      for (const Candidate& candidate : candidates) {
        for (const std::string& partition : candidate.partition_order) {
          if (std::find(partition_names.begin(), partition_names.end(), partition) ==
              partition_names.end()) {
            partition_names.push_back(partition);
          }
        }
      }
      bool partitions_changed = false;
      for (const std::string& partition : partition_names) {
        if (schema.Find(partition) != nullptr &&
            std::none_of(schema.partition_columns.begin(), schema.partition_columns.end(),
                         [&](const Column& c) { return c.name == partition; })) {
          std::erase_if(schema.columns, [&](const Column& c) { return c.name == partition; });
        }
        if (std::none_of(schema.partition_columns.begin(), schema.partition_columns.end(),
                         [&](const Column& c) { return c.name == partition; })) {
          std::vector<std::string> values;
          for (const DataFile& file : added) {
            if (file.partition_values.contains(partition))
              values.push_back(file.partition_values.at(partition));
          }
          schema.partition_columns.emplace_back(partition, InferPartitionType(values));
          partitions_changed = true;
        }
      }
      TableCommit commit;
      commit.table = name;
      commit.base_snapshot = create ? TableCommit::kCreate : current->table.current_snapshot;
      commit.operation = create ? "create" : "append";
      commit.message = fmt::format("crawl: {} new object(s)", added.size());
      commit.location = candidates.front().table_location;
      if (create || !change.columns_added.empty() || !change.columns_widened.empty() ||
          partitions_changed) {
        commit.new_schema = schema;
      }
      commit.add_files = added;
      for (const DataFile& file : added) {
        change.rows_added += file.row_count;
        const std::string path = PartitionPath(file.partition_values, schema.partition_columns);
        if (!path.empty() && known_partitions.insert(path).second)
          change.partitions_added.push_back(path);
      }
      change.files_added = static_cast<int64_t>(added.size());
      commit.summary = {{"files_added", added.size()}, {"rows_added", change.rows_added}};
      auto committed = catalog_.Commit(who, commit);
      if (committed.ok()) {
        change.schema_version = committed->schema_version;
        report.tables.push_back(std::move(change));
        break;
      }
      const bool retry = absl::IsAborted(committed.status()) ||
                         (create && absl::IsAlreadyExists(committed.status()));
      if (!retry || attempt == kMaxCommitAttempts) return committed.status();
    }
  }
  return report;
}

}  // namespace loch
