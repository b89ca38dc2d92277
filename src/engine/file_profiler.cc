// LakeEngine::Impl's file profiler: see lake_engine_impl.h.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/strings.h"
#include "engine/datetime_formats.h"
#include "engine/lake_engine_impl.h"
#include "engine/scratch_dir.h"
#include "engine/text_types.h"
#include "engine/type_tree.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

bool IsScalarType(const std::string& type) {
  return type.find("STRUCT") == std::string::npos && type.find("MAP") == std::string::npos &&
         type.find('[') == std::string::npos && type != "BLOB" && type != "NULL" && type != "JSON";
}
constexpr const char* kFileColumn = "__loch_file";  // the file name column of batch scans

// In text formats, loch types text itself (text_types.h), the same way on every path: columns
// DuckDB sniffed as datetimes, and JSON keys holding values of mixed kinds (DuckDB's JSON type),
// are read as VARCHAR.
bool ReadAsText(const std::string& format, const std::string& type) {
  if (format == "parquet") return false;
  return type == "DATE" || type == "TIMESTAMP" || type == "TIMESTAMP WITH TIME ZONE" ||
         type == "JSON";
}

// Text columns that may hold numbers among bad values: in CSV any text column (DuckDB found no
// type for every value), in JSON keys of mixed kinds. (A JSON key holding only strings keeps
// them as text: its producer wrote "00123" as a string on purpose.)
bool MayBeLenient(const std::string& format, const std::string& type) {
  return (format == "csv" && type == "VARCHAR") || (format == "json" && type == "JSON");
}

std::string SingleScan(const std::string& path, const std::string& format) {
  if (format == "json") {
    return fmt::format(
        "read_json({}, format = 'auto', sample_size = -1, hive_partitioning = false)",
        QuoteLiteral(path));
  }
  if (format == "csv") {
    return fmt::format("read_csv({}, sample_size = -1, hive_partitioning = false)",
                       QuoteLiteral(path));
  }
  return fmt::format("read_parquet({}, hive_partitioning = false)", QuoteLiteral(path));
}

// DuckDB's JSON reader types a list of values of mixed kinds ([1, "x"]) JSON[], as it types an
// empty list, which the schema policy takes for a list whose elements are not known yet
// (type_lattice.h). The records' structure (json_group_structure) tells them apart: ["JSON"] for
// mixed values, ["NULL"] for no values. null when no column has such a list.
absl::StatusOr<nlohmann::json> JsonStructure(duck::Connection& admin, const std::string& list,
                                             const std::string& json_format,
                                             const std::vector<Column>& columns) {
  if (std::none_of(columns.begin(), columns.end(), [](const Column& column) {
        return column.type.find("JSON[]") != std::string::npos;
      })) {
    return nlohmann::json();
  }
  ASSIGN_OR_RETURN(duck::Result result,
                   admin.Query(fmt::format("SELECT CAST(json_group_structure(json) AS VARCHAR) "
                                           "FROM read_json_objects({}, format = '{}')",
                                           list, json_format)));
  ASSIGN_OR_RETURN(auto rows, result.FetchAllAsText());
  if (rows.empty() || !rows[0][0].has_value()) return nlohmann::json();
  nlohmann::json structure =
      nlohmann::json::parse(*rows[0][0], nullptr, /*allow_exceptions=*/false);
  return structure.is_discarded() ? nlohmann::json() : structure;
}

// `type` with every list of mixed values (per `structure`, the matching part of the records'
// structure) read as one JSON value instead.
TypeTree MixedListsAsJson(TypeTree type, const nlohmann::json& structure) {
  if (type.name == "LIST" && structure.is_array() && !structure.empty()) {
    if (type.children[0].name == "JSON" && structure[0] == "JSON") return TypeTree{"JSON", {}, {}};
    const bool element_was_json = type.children[0].name == "JSON";
    type.children[0] = MixedListsAsJson(std::move(type.children[0]), structure[0]);
    // A list of mixed lists would read JSON[] again, which means "elements not known yet": the
    // whole list is one JSON value instead.
    if (!element_was_json && type.children[0].name == "JSON") return TypeTree{"JSON", {}, {}};
  } else if (type.name == "STRUCT" && structure.is_object()) {
    for (size_t i = 0; i < type.children.size(); ++i) {
      if (auto field = structure.find(type.field_names[i]); field != structure.end())
        type.children[i] = MixedListsAsJson(std::move(type.children[i]), *field);
    }
  }
  return type;
}

std::string MixedListsAsJson(const Column& column, const nlohmann::json& structure) {
  if (!structure.is_object() || column.type.find("JSON[]") == std::string::npos) return column.type;
  const std::optional<TypeTree> type = ParseType(column.type);
  auto of_column = structure.find(column.name);
  if (!type || of_column == structure.end()) return column.type;
  return TypeName(MixedListsAsJson(*type, *of_column));
}

absl::Status WithinColumnLimit(size_t columns) {
  if (columns <= FileProfile::kMaxColumns) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("the file has {} columns; loch reads files of at most {}", columns,
                  FileProfile::kMaxColumns));
}

// Per file (by path), per text column with values: the counts TextSampleSql returns for it.
using SampleCounts = std::map<std::string, std::map<std::string, std::vector<int64_t>>>;

absl::StatusOr<SampleCounts> CountTextSample(duck::Connection& admin,
                                             const std::string& sample_scan,
                                             const std::vector<std::string>& text_columns) {
  SampleCounts counts;
  if (text_columns.empty()) return counts;
  ASSIGN_OR_RETURN(duck::Result sampled,
                   admin.Query(TextSampleSql(sample_scan, text_columns, INT64_MAX, kFileColumn)));
  ASSIGN_OR_RETURN(auto rows, sampled.FetchAllAsText());
  for (const auto& row : rows) {
    std::vector<int64_t>& column = counts[row[0].value_or("")][row[1].value_or("")];
    for (size_t i = 2; i < row.size(); ++i) column.push_back(std::stoll(row[i].value_or("0")));
  }
  return counts;
}

// Aggregates measuring a batch of files, over the batch's columns and the `derived` ones.
struct Measure {
  std::vector<std::string> derived;     // "expression AS name"
  std::vector<std::string> aggregates;  // each one value
};
struct MeasuredFile {
  int64_t rows = 0;
  std::vector<std::optional<std::string>> values;  // every measure's aggregates, in order
};
using MeasuredFiles = std::map<std::string, MeasuredFile>;  // by path

// Runs `measures` over `scan` (which has kFileColumn), per file. A query holds at most
// kMaxAggregatesPerQuery aggregates, and a wider file is read once per so many: DuckDB plans
// aggregates in time that grows faster than their number, and crashes (SIGFPE) on a hash
// aggregate of some ten thousand.
absl::StatusOr<MeasuredFiles> MeasureFiles(duck::Connection& admin, const std::string& scan,
                                           const std::vector<Measure>& measures) {
  constexpr size_t kMaxAggregatesPerQuery = 1200;
  const std::string file = QuoteIdentifier(kFileColumn);
  MeasuredFiles measured;
  size_t first = 0;
  do {
    std::vector<std::string> derived, aggregates = {file, "count(*)"};
    size_t end = first;
    while (end < measures.size() &&
           (end == first ||
            aggregates.size() + measures[end].aggregates.size() <= kMaxAggregatesPerQuery)) {
      derived.insert(derived.end(), measures[end].derived.begin(), measures[end].derived.end());
      aggregates.insert(aggregates.end(), measures[end].aggregates.begin(),
                        measures[end].aggregates.end());
      ++end;
    }
    const std::string source =
        derived.empty() ? scan : fmt::format("(SELECT *, {} FROM {})", Join(derived, ", "), scan);
    ASSIGN_OR_RETURN(duck::Result result,
                     admin.Query(fmt::format("SELECT {} FROM {} GROUP BY {}",
                                             Join(aggregates, ", "), source, file)));
    ASSIGN_OR_RETURN(auto rows, result.FetchAllAsText());
    for (auto& row : rows) {
      MeasuredFile& one = measured[row[0].value_or("")];
      one.rows = std::stoll(row[1].value_or("0"));
      one.values.insert(one.values.end(), std::make_move_iterator(row.begin() + 2),
                        std::make_move_iterator(row.end()));
    }
    first = end;
  } while (first < measures.size());
  return measured;
}

}  // namespace

absl::StatusOr<std::vector<Column>> LakeEngine::Impl::DescribeScan(const std::string& scan) {
  ASSIGN_OR_RETURN(duck::Result described,
                   admin.Query(fmt::format("DESCRIBE SELECT * FROM {}", scan)));
  ASSIGN_OR_RETURN(auto rows, described.FetchAllAsText());
  std::vector<Column> columns;
  for (const auto& row : rows) {
    if (row[0].value_or("") == kFileColumn) continue;
    columns.emplace_back(row[0].value_or(""), row[1].value_or("VARCHAR"));
  }
  return columns;
}

absl::StatusOr<std::vector<Column>> LakeEngine::Impl::DescribeFile(const std::string& path,
                                                                   const std::string& format,
                                                                   const JsonShape* shape) {
  absl::StatusOr<std::vector<Column>> columns = absl::UnknownError("not described");
  if (shape != nullptr && format == "json") {
    auto scratch = ScratchDir::Make(options.readable_root, "sample");
    auto sample = scratch.ok() ? (*scratch)->Write("head.json", shape->head)
                               : absl::StatusOr<std::string>(scratch.status());
    if (sample.ok()) {
      columns = DescribeScan(SingleScan(*sample, format));
      if (columns.ok() && !SampledTypesHold(*shape, *columns)) columns = absl::UnknownError("");
    }
  }
  if (!columns.ok()) columns = DescribeScan(SingleScan(path, format));
  RETURN_IF_ERROR(columns.status());
  if (format == "csv" && columns->size() == 1) {
    RETURN_IF_ERROR(RaggedCsvError(path, (*columns)[0].name));
  }
  if (format == "json") RETURN_IF_ERROR(CaseVariantKeysError(path, *columns, shape));
  RETURN_IF_ERROR(WithinColumnLimit(columns->size()));
  return columns;
}

absl::Status LakeEngine::Impl::CaseVariantKeysError(const std::string& path,
                                                    const std::vector<Column>& columns,
                                                    const JsonShape* shape) {
  // DuckDB renames the later of two names equal but for case to NAME_1 (NAME_2, ...).
  const bool renamed = std::any_of(columns.begin(), columns.end(), [&](const Column& column) {
    const size_t underscore = column.name.rfind('_');
    if (underscore == std::string::npos || underscore + 1 == column.name.size() ||
        !std::all_of(column.name.begin() + underscore + 1, column.name.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    const std::string_view base = std::string_view(column.name).substr(0, underscore);
    return std::any_of(columns.begin(), columns.end(),
                       [&](const Column& other) { return EqualsIgnoringCase(other.name, base); });
  });
  if (!renamed) return absl::OkStatus();
  std::vector<std::string> keys;  // the records' top-level keys (the file may spell NAME_1 itself)
  if (shape != nullptr) {
    for (const auto& [key, _] : shape->keys) keys.push_back(key);
  } else {
    ASSIGN_OR_RETURN(duck::Result found,
                     admin.Query(fmt::format(
                         "SELECT DISTINCT unnest(json_keys(json)) FROM read_json_objects({}, "
                         "format = 'auto') WHERE json_type(json) = 'OBJECT' LIMIT {}",
                         QuoteLiteral(path), 4 * FileProfile::kMaxColumns)));
    ASSIGN_OR_RETURN(auto rows, found.FetchAllAsText());
    for (const auto& row : rows) keys.push_back(row[0].value_or(""));
  }
  std::map<std::string, std::string> by_lower_case;
  for (const std::string& key : keys) {
    std::string lower = key;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [seen, inserted] = by_lower_case.emplace(std::move(lower), key);
    if (inserted) continue;
    return absl::InvalidArgumentError(fmt::format(
        "keys \"{}\" and \"{}\" differ only in case; column names ignore case (in loch as in "
        "DuckDB, Athena and Spark), so one table cannot hold both: rename one key where the "
        "records are made",
        std::min(seen->second, key), std::max(seen->second, key)));
  }
  return absl::OkStatus();
}

absl::Status LakeEngine::Impl::RaggedCsvError(const std::string& path, const std::string& header) {
  const size_t at = header.find_first_of(",;\t|");
  if (at == std::string::npos) return absl::OkStatus();
  const char delimiter = header[at];
  const size_t fields =
      static_cast<size_t>(std::count(header.begin(), header.end(), delimiter)) + 1;
  if (fields > FileProfile::kMaxColumns) return absl::OkStatus();
  std::vector<std::string> names;
  for (size_t i = 0; i < fields; ++i) names.push_back(fmt::format("'c{}': 'VARCHAR'", i));
  auto strict = admin.Query(fmt::format(
      "SELECT count(*) FROM read_csv({}, delim = {}, quote = '\"', escape = '\"', header = true, "
      "auto_detect = false, columns = {{{}}}, hive_partitioning = false)",
      QuoteLiteral(path), QuoteLiteral(std::string(1, delimiter)), Join(names, ", ")));
  if (strict.ok()) return absl::OkStatus();
  // DuckDB's message starts "CSV Error on Line: N", "Original Line: ...", "Expected Number of
  // Columns: 3 Found: 4"; its suggestions (skip or pad rows) would lose or invent data.
  // (A header of one quoted name holding the delimiter, "a,b", is a one-column file: line 1.)
  std::vector<std::string> where;
  for (std::string_view line : Split(ToStd(strict.status().message()), '\n')) {
    for (std::string_view label :
         {"CSV Error on Line: ", "Original Line: ", "Expected Number of Columns: "}) {
      const size_t found = line.find(label);
      if (found == std::string_view::npos) continue;
      line.remove_prefix(found);
      if (line == "CSV Error on Line: 1") return absl::OkStatus();
      where.emplace_back(line.substr(0, 200));
    }
  }
  const std::string shown = delimiter == '\t' ? "\\t" : std::string(1, delimiter);
  return absl::InvalidArgumentError(fmt::format(
      "CSV rows do not all have the header's {} fields separated by '{}'{}; quote values that "
      "hold '{}' or fix the line",
      fields, shown, where.empty() ? "" : " (" + Join(where, "; ") + ")", shown));
}

std::vector<absl::StatusOr<FileProfile>> LakeEngine::Impl::ProfileBatch(
    const std::vector<std::string>& keys, const std::vector<absl::StatusOr<std::string>>& paths,
    const std::string& format, const std::vector<const JsonShape*>& shapes, bool type_text) {
  std::vector<absl::StatusOr<FileProfile>> out;
  std::vector<size_t> readable;
  // Each file's own columns (and whether it can be read at all).
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!paths[i].ok()) {
      out.push_back(paths[i].status());
      continue;
    }
    auto columns = DescribeFile(*paths[i], format, shapes[i]);
    if (!columns.ok()) {
      out.push_back(
          Annotate(columns.status(), fmt::format("reading \"{}\" as {}", keys[i], format)));
      continue;
    }
    FileProfile profile;
    profile.columns = std::move(*columns);
    out.push_back(std::move(profile));
    readable.push_back(i);
  }
  if (readable.empty()) return out;
  const bool shaped =
      std::all_of(readable.begin(), readable.end(), [&](size_t i) { return shapes[i] != nullptr; });
  absl::Status batched = ProfileTogether(paths, readable, format, shaped, out, type_text);
  if (!batched.ok()) {  // something only one file at a time can say (or a sample's types did not
                        // hold): read them one by one, each sniffed whole
    for (size_t i : readable) out[i] = ProfilePath(*paths[i], format, keys[i]);
  }
  return out;
}

absl::Status LakeEngine::Impl::ProfileTogether(
    const std::vector<absl::StatusOr<std::string>>& paths, const std::vector<size_t>& readable,
    const std::string& format, bool newline_delimited,
    std::vector<absl::StatusOr<FileProfile>>& out, bool type_text) {
  const char* json_format = newline_delimited ? "newline_delimited" : "auto";
  std::vector<std::string> quoted;
  std::map<std::string, size_t> index_of_path;
  for (size_t i : readable) {
    quoted.push_back(QuoteLiteral(*paths[i]));
    index_of_path[*paths[i]] = i;
  }
  const std::string list = "[" + Join(quoted, ", ") + "]";
  const std::string options = fmt::format(
      "union_by_name = true, filename = '{}', sample_size = -1, hive_partitioning = false",
      kFileColumn);
  std::string scan;
  if (format == "json") {
    scan = fmt::format("read_json({}, format = '{}', {})", list, json_format, options);
  } else if (format == "csv") {
    scan = fmt::format("read_csv({}, {})", list, options);
  } else {
    scan = fmt::format(
        "read_parquet({}, union_by_name = true, filename = '{}', hive_partitioning = false)", list,
        kFileColumn);
  }
  // Files with the same columns (one file, or a stream's objects) need no second look; otherwise
  // DuckDB decides the union's types.
  std::vector<Column> columns = out[readable.front()]->columns;
  const bool same_columns = std::all_of(readable.begin(), readable.end(),
                                        [&](size_t i) { return out[i]->columns == columns; });
  if (!same_columns) {
    ASSIGN_OR_RETURN(columns, DescribeScan(scan));
    RETURN_IF_ERROR(WithinColumnLimit(columns.size()));  // then each file is read alone
  }
  if (format == "json") {
    ASSIGN_OR_RETURN(const nlohmann::json structure,
                     JsonStructure(admin, list, json_format, columns));
    for (Column& column : columns) column.type = MixedListsAsJson(column, structure);
    for (size_t i : readable) {
      for (Column& column : out[i]->columns) column.type = MixedListsAsJson(column, structure);
    }
  }
  // Text loch types itself is read as text, by the batch and in each file's own columns.
  std::set<std::string> lenient_candidates;
  std::vector<std::string> csv_text_types;
  for (Column& column : columns) {
    if (MayBeLenient(format, column.type)) lenient_candidates.insert(column.name);
    if (ReadAsText(format, column.type)) column.type = "VARCHAR";
    if (format == "csv" && column.type == "VARCHAR") {
      csv_text_types.push_back(fmt::format("{}: 'VARCHAR'", QuoteLiteral(column.name)));
    }
  }
  for (size_t i : readable) {
    for (Column& column : out[i]->columns) {
      if (ReadAsText(format, column.type)) column.type = "VARCHAR";
    }
  }
  if (format == "csv" && !csv_text_types.empty()) {
    scan =
        fmt::format("read_csv({}, {}, types = {{{}}})", list, options, Join(csv_text_types, ", "));
  }
  if (format == "json") {
    // With the columns given, DuckDB reads the files once per query instead of first sniffing
    // every record again (sample_size = -1).
    std::vector<std::string> types;
    for (const Column& column : columns) {
      types.push_back(fmt::format("{}: {}", QuoteLiteral(column.name), QuoteLiteral(column.type)));
    }
    scan = fmt::format(
        "read_json({}, format = '{}', columns = {{{}}}, filename = '{}', hive_partitioning = "
        "false)",
        list, json_format, Join(types, ", "), kFileColumn);
  }
  const std::string file = QuoteIdentifier(kFileColumn);

  // Typed text: each file's own sample (its first rows) decides whether a text column holds
  // datetimes (and in which formats) or, for mixed columns, numbers or booleans among a few bad
  // values; the column is then measured over every file choosing it with what they chose together
  // (the union of the formats; the wider lenient type).
  std::vector<std::string> text_columns;
  for (const Column& column : columns) {
    if (column.type == "VARCHAR" && type_text) text_columns.push_back(column.name);
  }
  // The first rows of each file. One file, or a few large ones (a stream's objects): each one's
  // rows streamed with a LIMIT. Small files (a crawl batch): a window over the batch, which reads
  // them all, but in one query, which costs less than a scan per file.
  constexpr int64_t kSampleRowsPerFile = 1000;
  constexpr size_t kMaxLimitedScans = 16;
  constexpr uintmax_t kLargeFileBytes = 1 << 20;
  uintmax_t total_bytes = 0;
  for (size_t i : readable) {
    std::error_code unknown;
    const uintmax_t size = std::filesystem::file_size(*paths[i], unknown);
    total_bytes += unknown ? 0 : size;
  }
  const bool large_files = total_bytes / readable.size() > kLargeFileBytes;
  std::string sample_scan;
  if (readable.size() == 1 || (readable.size() <= kMaxLimitedScans && large_files)) {
    std::vector<std::string> limited;
    for (size_t i : readable) {
      std::string one = scan;
      const size_t at = one.find(list);
      one.replace(at, list.size(), "[" + QuoteLiteral(*paths[i]) + "]");
      limited.push_back(fmt::format("(SELECT * FROM {} LIMIT {})", one, kSampleRowsPerFile));
    }
    sample_scan = "(" + Join(limited, " UNION ALL BY NAME ") + ")";
  } else {
    sample_scan =
        fmt::format("(SELECT * FROM {} QUALIFY row_number() OVER (PARTITION BY {}) <= {})", scan,
                    file, kSampleRowsPerFile);
  }
  ASSIGN_OR_RETURN(const SampleCounts sample_counts,
                   CountTextSample(admin, sample_scan, text_columns));
  const size_t formats_known = KnownDatetimeFormats().size();
  std::map<std::string, TextTyping> typing_of_column;       // what the batch reads it as
  std::map<std::string, std::set<size_t>> files_of_column;  // files choosing it
  std::set<std::string> lenient_conflicts;                  // files chose unrelated types
  // Numeric dates read month-first or day-first: the order the batch's values as a whole read in
  // best (month-first on a tie), whatever the order of its files.
  std::map<std::string, int64_t> day_first_lead;  // column -> day-first minus month-first values
  for (const auto& [path, counts_of_column] : sample_counts) {
    for (const auto& [name, counts] : counts_of_column) {
      if (counts.size() < TextSampleCountsPerColumn()) continue;
      int64_t month_first = 0, day_first = 0;
      for (size_t f = 0; f < formats_known; ++f) {
        const NumericOrder order = KnownDatetimeFormats()[f].order;
        if (order == NumericOrder::kMonthFirst) month_first = std::max(month_first, counts[1 + f]);
        if (order == NumericOrder::kDayFirst) day_first = std::max(day_first, counts[1 + f]);
      }
      day_first_lead[name] += day_first - month_first;
    }
  }
  for (const auto& [path, counts_of_column] : sample_counts) {
    auto index = index_of_path.find(path);
    if (index == index_of_path.end()) continue;
    std::set<std::string> own_text;  // the file's own text columns
    for (const Column& column : out[index->second]->columns) {
      if (column.type == "VARCHAR") own_text.insert(column.name);
    }
    for (const auto& column_counts : counts_of_column) {
      const std::string& name = column_counts.first;
      const std::vector<int64_t>& counts =
          column_counts.second;  // (lambdas cannot capture
                                 // structured bindings in clang 14)
      if (!own_text.contains(name) || counts.size() < TextSampleCountsPerColumn()) continue;
      auto count = [&](size_t i) { return counts[i]; };
      std::vector<int64_t> parsed_formats, parsed_types;
      const NumericOrder other_order =
          day_first_lead[name] > 0 ? NumericOrder::kMonthFirst : NumericOrder::kDayFirst;
      for (size_t f = 0; f < formats_known; ++f)
        parsed_formats.push_back(KnownDatetimeFormats()[f].order == other_order ? 0 : count(1 + f));
      for (size_t t = 0; t < LenientTypes().size(); ++t)
        parsed_types.push_back(count(1 + formats_known + t));
      TextTyping& typing = typing_of_column[name];
      if (const auto chosen = ChooseDatetimeFormats(name, count(0), parsed_formats);
          !chosen.empty() && (typing.type.empty() || !typing.formats.empty())) {
        for (const std::string& format : chosen) {
          if (std::find(typing.formats.begin(), typing.formats.end(), format) ==
              typing.formats.end())
            typing.formats.push_back(format);
        }
        typing.type = DatetimeTypeFor(typing.formats);
      } else if (const auto lenient = ChooseLenientType(count(0), parsed_types);
                 lenient && lenient_candidates.contains(name) && typing.formats.empty()) {
        if (typing.type.empty() || typing.type == *lenient) {
          typing.type = *lenient;
        } else if ((typing.type == "BIGINT" || typing.type == "DOUBLE") &&
                   (*lenient == "BIGINT" || *lenient == "DOUBLE")) {
          typing.type = "DOUBLE";
        } else {
          lenient_conflicts.insert(name);
        }
      } else {
        continue;
      }
      files_of_column[name].insert(index->second);
    }
  }
  std::erase_if(typing_of_column, [&](const auto& entry) {
    return entry.second.type.empty() || lenient_conflicts.contains(entry.first);
  });
  // Row counts, per-column min/max/nulls, and for every typed text column its values, parsed
  // values, parsed range and two examples of values that do not parse.
  std::vector<Measure> measures;
  // column -> its min/max/nulls measure and its column in the batch
  std::map<std::string, std::pair<size_t, const Column*>> measured;
  for (const Column& column : columns) {
    if (!IsScalarType(column.type)) continue;
    const std::string name = QuoteIdentifier(column.name);
    measured[column.name] = {measures.size(), &column};
    measures.push_back(Measure{{},
                               {fmt::format("CAST(min({}) AS VARCHAR)", name),
                                fmt::format("CAST(max({}) AS VARCHAR)", name),
                                fmt::format("count(*) - count({})", name)}});
  }
  std::vector<std::string> typed_names;
  for (const auto& [column, typing] : typing_of_column) {
    const size_t i = typed_names.size();
    typed_names.push_back(column);
    const std::string text = fmt::format("trim(CAST({} AS VARCHAR))", QuoteIdentifier(column));
    const std::string parse = typing.formats.empty()
                                  ? LenientParseSql(text, typing.type)
                                  : DatetimeParseSql(text, typing.formats, typing.type);
    const std::string value = fmt::format("__loch_v{}", i), parsed = fmt::format("__loch_p{}", i);
    const std::string unparsed =
        fmt::format("FILTER (WHERE {} IS NOT NULL AND {} IS NULL)", value, parsed);
    measures.push_back(Measure{
        {fmt::format("{} AS {}", text, value), fmt::format("{} AS {}", parse, parsed)},
        {fmt::format("count({})", value), fmt::format("count({})", parsed),
         fmt::format("CAST(min({}) AS VARCHAR)", parsed),
         fmt::format("CAST(max({}) AS VARCHAR)", parsed),
         fmt::format("min({}) {}", value, unparsed), fmt::format("max({}) {}", value, unparsed)}});
  }
  ASSIGN_OR_RETURN(const MeasuredFiles measured_files, MeasureFiles(admin, scan, measures));
  const size_t typed_at = 3 * measured.size();
  constexpr size_t kTypedMeasures = 6;
  for (const auto& [path, measured_file] : measured_files) {
    auto index = index_of_path.find(path);
    if (index == index_of_path.end()) continue;
    FileProfile& profile = *out[index->second];
    const std::vector<std::optional<std::string>>& row = measured_file.values;
    if (row.size() != typed_at + kTypedMeasures * typed_names.size()) {
      return absl::InternalError(fmt::format("measuring \"{}\" gave {} values, not {}", path,
                                             row.size(),
                                             typed_at + kTypedMeasures * typed_names.size()));
    }
    profile.row_count = measured_file.rows;
    for (const Column& own : profile.columns) {
      auto at = measured.find(own.name);
      if (at == measured.end() || !IsScalarType(own.type)) {
        profile.stats.push_back(ColumnStats{own.name, std::nullopt, std::nullopt, -1, own.type});
        continue;
      }
      const auto [m, batch_column] = at->second;
      // The bounds follow the order of the type they were measured in: the batch's, which may be
      // wider than this file's own (e.g. VARCHAR when another file of the batch has text there).
      profile.stats.push_back(ColumnStats{own.name, row[3 * m], row[3 * m + 1],
                                          std::stoll(row[3 * m + 2].value_or("0")),
                                          batch_column->type});
    }
    for (size_t c = 0; c < typed_names.size(); ++c) {
      if (!files_of_column[typed_names[c]].contains(index->second)) continue;
      TextTyping typing = typing_of_column[typed_names[c]];
      const size_t at = typed_at + c * kTypedMeasures;
      typing.values = std::stoll(row[at].value_or("0"));
      typing.parsed = std::stoll(row[at + 1].value_or("0"));
      typing.min = row[at + 2];
      typing.max = row[at + 3];
      for (size_t e : {at + 4, at + 5}) {
        if (row[e].has_value() &&
            (typing.bad_examples.empty() || typing.bad_examples.front() != *row[e])) {
          typing.bad_examples.push_back(*row[e]);
        }
      }
      profile.typed_text[typed_names[c]] = std::move(typing);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FileProfile> LakeEngine::Impl::ProfilePath(const std::string& path,
                                                          const std::string& format,
                                                          const std::string& key,
                                                          const JsonShape* shape) {
  if (format != "json" && format != "csv" && format != "parquet") {
    return absl::InvalidArgumentError(
        fmt::format("unknown data format \"{}\" for \"{}\"", format, key));
  }
  auto columns = DescribeFile(path, format, shape);
  if (!columns.ok()) {
    return Annotate(columns.status(), fmt::format("reading \"{}\" as {}", key, format));
  }
  FileProfile profile;
  profile.columns = std::move(*columns);
  std::vector<absl::StatusOr<FileProfile>> out = {std::move(profile)};
  absl::Status profiled = ProfileTogether({path}, {0}, format, /*newline_delimited=*/false, out);
  if (!profiled.ok() && shape != nullptr) return ProfilePath(path, format, key, nullptr);
  RETURN_IF_ERROR(Annotate(profiled, fmt::format("reading \"{}\" as {}", key, format)));
  return std::move(out[0]);
}

}  // namespace loch
