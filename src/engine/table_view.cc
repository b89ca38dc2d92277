#include "engine/table_view.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "common/strings.h"
#include "engine/text_types.h"
#include "fmt/format.h"

namespace loch {
namespace {

// True if every partition column appears as a `name=value` folder in `path`.
bool HasHivePath(const std::string& path, const std::vector<Column>& partition_columns) {
  for (const Column& column : partition_columns) {
    if (path.find("/" + column.name + "=") == std::string::npos) return false;
  }
  return true;
}

// The type a column has in the files: text for text the table parses (text_types.h).
std::string StoredType(const Column& column) {
  return ParsedFromText(column) ? "VARCHAR" : column.type;
}

// name -> stored type for the columns that are in the files (not raw companions), under each name
// they have there (Column::FileNames); with `only`, just those names.
std::string ColumnTypeMap(const std::vector<Column>& columns,
                          const std::set<std::string>* only = nullptr) {
  std::vector<std::string> entries;
  std::set<std::string> named;
  for (const Column& column : columns) {
    if (RawOf(column)) continue;
    for (const std::string& name : column.FileNames()) {
      if ((only != nullptr && !only->contains(name)) || !named.insert(name).second) continue;
      entries.push_back(
          fmt::format("{}: {}", QuoteLiteral(name), QuoteLiteral(StoredType(column))));
    }
  }
  return "{" + Join(entries, ", ") + "}";
}

// SQL reading a column from a scan's rows by the names it has in the files (`names`, only those
// `present` when known): the one name, or, for a renamed column whose files have it under several,
// the first that is not NULL, each cast to `type`. nullopt if no file of the scan has it.
std::optional<std::string> FileColumnSql(const std::vector<std::string>& names,
                                         const std::set<std::string>* present,
                                         const std::string& type) {
  std::vector<std::string> reads;
  for (const std::string& name : names) {
    if (present == nullptr || present->contains(name)) reads.push_back(QuoteIdentifier(name));
  }
  if (reads.empty()) return std::nullopt;
  if (reads.size() == 1) return reads.front();
  for (std::string& read : reads) read = fmt::format("CAST({} AS {})", read, type);
  return "COALESCE(" + Join(reads, ", ") + ")";
}

constexpr const char* kFileColumn = "__loch_file";

// One scan over files of the same format and partition layout. Without Hive folders, partition
// values come from the catalog: as constants when all files share them, else joined by file name.
struct Group {
  std::string format;
  bool hive = false;
  std::vector<const DataFile*> files;
  std::vector<std::string> paths;  // resolved, parallel to `files`

  bool SharedPartitions() const {
    for (const DataFile* file : files) {
      if (file->partition_values != files.front()->partition_values) return false;
    }
    return true;
  }
};

absl::StatusOr<std::string> ScanSql(const Group& group, const Schema& schema) {
  std::vector<std::string> paths;
  for (const std::string& path : group.paths) paths.push_back(QuoteLiteral(path));
  const std::string list = "[" + Join(paths, ", ") + "]";
  std::string hive = "hive_partitioning = false";
  if (group.hive && !schema.partition_columns.empty()) {
    hive = fmt::format("hive_partitioning = true, hive_types = {}",
                       ColumnTypeMap(schema.partition_columns));
  }
  const bool join_partitions =
      !group.hive && !schema.partition_columns.empty() && !group.SharedPartitions();
  if (join_partitions) hive += fmt::format(", filename = '{}'", kFileColumn);
  // Columns that no file of the group has (known from per-file statistics) read as NULL. JSON scans
  // take the full column list, so they always have every column.
  std::set<std::string> present;
  bool stats_known = group.format != "json";
  // Do all files have the same columns, of the same types? Then no union_by_name is needed, which
  // would open every file's footer before pruning. (Without it DuckDB reads every file with the
  // first one's types: a column that is INTEGER there, being all NULL, and DOUBLE elsewhere fails.)
  bool same_columns = true;
  std::optional<std::set<std::pair<std::string, std::string>>> first_columns;
  for (const DataFile* file : group.files) {
    if (file->stats.empty()) stats_known = false;
    std::set<std::pair<std::string, std::string>> columns;
    for (const ColumnStats& stats : file->stats) {
      // (CSV files' text-typed columns keep their measured type here, as before stored types.)
      columns.emplace(stats.column, group.format == "parquet" ? stats.FileType() : stats.type);
      present.insert(stats.column);
    }
    if (!first_columns.has_value()) first_columns = columns;
    if (columns != *first_columns) same_columns = false;
  }
  const std::string union_by_name = stats_known && same_columns ? "false" : "true";

  std::string scan;
  if (group.format == "parquet") {
    scan = fmt::format("read_parquet({}, union_by_name = {}, {})", list, union_by_name, hive);
  } else if (group.format == "json") {
    scan = fmt::format("read_json({}, format = 'auto', columns = {}, {})", list,
                       ColumnTypeMap(schema.columns), hive);
  } else if (group.format == "csv") {
    // DuckDB refuses types for columns none of the files has (a table of several formats has
    // columns its CSV files lack): only those present are named, and the scan unions by name.
    const std::string types = ColumnTypeMap(schema.columns, stats_known ? &present : nullptr);
    scan = fmt::format("read_csv({}, union_by_name = {}, types = {}, {})", list, union_by_name,
                       types, hive);
  } else {
    return absl::InvalidArgumentError(fmt::format("data file \"{}\" has unknown format \"{}\"",
                                                  group.files.front()->key, group.format));
  }

  std::vector<std::string> projection;
  for (const Column& column : schema.columns) {
    // A raw companion shows the text of the column it belongs to, read by that column's names.
    const std::optional<std::string> raw_of = RawOf(column);
    const Column* source = raw_of ? schema.Find(*raw_of) : &column;
    const std::vector<std::string> names =
        source != nullptr ? source->FileNames() : std::vector<std::string>{*raw_of};
    const bool as_text = raw_of.has_value() || ParsedFromText(column);
    const std::optional<std::string> read =
        FileColumnSql(names, stats_known ? &present : nullptr, as_text ? "VARCHAR" : column.type);
    const std::string alias = QuoteIdentifier(column.name);
    if (!read) {
      projection.push_back(fmt::format("CAST(NULL AS {}) AS {}", column.type, alias));
    } else if (raw_of) {
      projection.push_back(fmt::format("CAST({} AS VARCHAR) AS {}", *read, alias));
    } else if (ParsedFromText(column)) {
      const std::string text = fmt::format("trim(CAST({} AS VARCHAR))", *read);
      projection.push_back(fmt::format("{} AS {}", ParseTextSql(text, column), alias));
    } else {
      projection.push_back(fmt::format("CAST({} AS {}) AS {}", *read, column.type, alias));
    }
  }
  const std::map<std::string, std::string>& shared = group.files.front()->partition_values;
  for (const Column& column : schema.partition_columns) {
    if (group.hive) {
      projection.push_back(QuoteIdentifier(column.name));
    } else if (join_partitions) {
      projection.push_back(
          fmt::format("CAST(p.{0} AS {1}) AS {0}", QuoteIdentifier(column.name), column.type));
    } else {
      auto value = shared.find(column.name);
      projection.push_back(
          value == shared.end()
              ? fmt::format("CAST(NULL AS {}) AS {}", column.type, QuoteIdentifier(column.name))
              : fmt::format("CAST({} AS {}) AS {}", QuoteLiteral(value->second), column.type,
                            QuoteIdentifier(column.name)));
    }
  }
  if (!join_partitions) return fmt::format("SELECT {} FROM {}", Join(projection, ", "), scan);
  // file -> partition values, as a VALUES list joined on the scan's file-name column.
  std::vector<std::string> rows, names = {QuoteIdentifier(kFileColumn)};
  for (const Column& column : schema.partition_columns)
    names.push_back(QuoteIdentifier(column.name));
  for (size_t i = 0; i < group.files.size(); ++i) {
    std::vector<std::string> values = {QuoteLiteral(group.paths[i])};
    for (const Column& column : schema.partition_columns) {
      auto value = group.files[i]->partition_values.find(column.name);
      values.push_back(
          value == group.files[i]->partition_values.end() ? "NULL" : QuoteLiteral(value->second));
    }
    rows.push_back("(" + Join(values, ", ") + ")");
  }
  return fmt::format("SELECT {} FROM {} AS d JOIN (VALUES {}) AS p({}) ON d.{} = p.{}",
                     Join(projection, ", "), scan, Join(rows, ", "), Join(names, ", "),
                     QuoteIdentifier(kFileColumn), QuoteIdentifier(kFileColumn));
}

// Parquet files whose columns have other types are scanned apart: one scan unifies its files'
// types first (BOOLEAN and INTEGER become INTEGER), and the view's cast to the table's type would
// then depend on which files a query reads (a pruned query could answer 'true' where the whole
// table answers '1'). Each file's values must be cast from its own types. "" when unknown.
std::string ParquetColumnTypes(const DataFile& file) {
  if (file.format != "parquet") return "";
  std::vector<std::string> columns;
  for (const ColumnStats& stats : file.stats) {
    if (stats.FileType().empty()) return "";  // statistics from before types were kept
    columns.push_back(stats.column + " " + stats.FileType());
  }
  std::sort(columns.begin(), columns.end());
  return Join(columns, ",");
}

}  // namespace

absl::StatusOr<std::string> BuildTableViewSql(const TableSnapshot& snapshot,
                                              const FileResolver& resolve) {
  const Schema& schema = snapshot.table.schema;
  if (std::all_of(snapshot.files.begin(), snapshot.files.end(), HoldsNoRows)) {
    std::vector<std::string> nulls;
    for (const auto* list : {&schema.columns, &schema.partition_columns}) {
      for (const Column& column : *list) {
        nulls.push_back(
            fmt::format("CAST(NULL AS {}) AS {}", column.type, QuoteIdentifier(column.name)));
      }
    }
    return fmt::format("SELECT {} WHERE false", Join(nulls, ", "));
  }

  std::map<std::string, Group> groups;  // ordered, so the SQL is deterministic
  for (const DataFile& file : snapshot.files) {
    if (HoldsNoRows(file)) continue;
    if (file.key.find_first_of("*?[") != std::string::npos) {
      return absl::InvalidArgumentError(fmt::format(
          "data file \"{}\" has a glob character (*, ?, [) in its key and cannot be read",
          file.key));
    }
    ASSIGN_OR_RETURN(std::string path, resolve(file));
    if (path.find_first_of("*?[") != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("path \"{}\" has a glob character (*, ?, [)", path));
    }
    Group key_group;
    key_group.format = file.format;
    key_group.hive = HasHivePath(path, schema.partition_columns);
    const std::string group_key =
        fmt::format("{}|{}|{}", file.format, key_group.hive, ParquetColumnTypes(file));
    auto [it, inserted] = groups.try_emplace(group_key, std::move(key_group));
    it->second.files.push_back(&file);
    it->second.paths.push_back(std::move(path));
  }
  std::vector<std::string> scans;
  for (const auto& [key, group] : groups) {
    ASSIGN_OR_RETURN(std::string scan, ScanSql(group, schema));
    scans.push_back(std::move(scan));
  }
  return Join(scans, "\nUNION ALL\n");
}

}  // namespace loch
