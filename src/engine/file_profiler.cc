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
#include "fmt/format.h"

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
  if (shape != nullptr && format == "json") {
    auto scratch = ScratchDir::Make(options.readable_root, "sample");
    auto sample = scratch.ok() ? (*scratch)->Write("head.json", shape->head)
                               : absl::StatusOr<std::string>(scratch.status());
    if (sample.ok()) {
      auto sampled = DescribeScan(SingleScan(*sample, format));
      if (sampled.ok() && SampledTypesHold(*shape, *sampled)) return sampled;
    }
  }
  return DescribeScan(SingleScan(path, format));
}

std::vector<absl::StatusOr<FileProfile>> LakeEngine::Impl::ProfileBatch(
    const std::vector<std::string>& keys, const std::vector<absl::StatusOr<std::string>>& paths,
    const std::string& format, const std::vector<const JsonShape*>& shapes) {
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
  absl::Status batched = ProfileTogether(paths, readable, format, shaped, out);
  if (!batched.ok()) {  // something only one file at a time can say (or a sample's types did not
                        // hold): read them one by one, each sniffed whole
    for (size_t i : readable) out[i] = ProfilePath(*paths[i], format, keys[i]);
  }
  return out;
}

absl::Status LakeEngine::Impl::ProfileTogether(
    const std::vector<absl::StatusOr<std::string>>& paths, const std::vector<size_t>& readable,
    const std::string& format, bool newline_delimited,
    std::vector<absl::StatusOr<FileProfile>>& out) {
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
    scan = fmt::format("read_csv({}, {}, types = {{{}}})", list, options, Join(csv_text_types, ", "));
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
    if (column.type == "VARCHAR") text_columns.push_back(column.name);
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
  std::vector<std::vector<std::optional<std::string>>> sample_rows;
  if (!text_columns.empty()) {
    ASSIGN_OR_RETURN(duck::Result sampled, admin.Query(TextSampleSql(sample_scan, text_columns,
                                                                     INT64_MAX, kFileColumn)));
    ASSIGN_OR_RETURN(sample_rows, sampled.FetchAllAsText());
  }
  const size_t per_column = TextSampleCountsPerColumn();
  const size_t formats_known = KnownDatetimeFormats().size();
  std::map<std::string, TextTyping> typing_of_column;         // what the batch reads it as
  std::map<std::string, std::vector<size_t>> files_of_column;  // files choosing it
  std::set<std::string> lenient_conflicts;                     // files chose unrelated types
  for (const auto& row : sample_rows) {
    auto index = index_of_path.find(row[0].value_or(""));
    if (index == index_of_path.end()) continue;
    const FileProfile& profile = *out[index->second];
    for (size_t c = 0; c < text_columns.size(); ++c) {
      const std::string& name = text_columns[c];
      const bool own_text = std::any_of(
          profile.columns.begin(), profile.columns.end(),
          [&](const Column& column) { return column.name == name && column.type == "VARCHAR"; });
      if (!own_text) continue;
      const size_t at = 1 + c * per_column;
      auto count = [&](size_t i) { return std::stoll(row[at + i].value_or("0")); };
      std::vector<int64_t> parsed_formats, parsed_types;
      for (size_t f = 0; f < formats_known; ++f) parsed_formats.push_back(count(1 + f));
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
      files_of_column[name].push_back(index->second);
    }
  }
  std::erase_if(typing_of_column, [&](const auto& entry) {
    return entry.second.type.empty() || lenient_conflicts.contains(entry.first);
  });
  // One pass over the data: row counts, per-column min/max/nulls, and for every datetime column its
  // values, parsed values, parsed range and two examples of values no format parses.
  std::vector<std::string> aggregates = {file, "count(*)"};
  std::vector<const Column*> measured;
  for (const Column& column : columns) {
    if (!IsScalarType(column.type)) continue;
    aggregates.push_back(
        fmt::format("CAST(min({0}) AS VARCHAR), CAST(max({0}) AS VARCHAR), count(*) - count({0})",
                    QuoteIdentifier(column.name)));
    measured.push_back(&column);
  }
  std::vector<std::string> parsed_columns;
  std::vector<std::string> typed_names;
  for (const auto& [column, typing] : typing_of_column) {
    const size_t i = typed_names.size();
    typed_names.push_back(column);
    const std::string text = fmt::format("trim(CAST({} AS VARCHAR))", QuoteIdentifier(column));
    const std::string parse = typing.formats.empty()
                                  ? LenientParseSql(text, typing.type)
                                  : DatetimeParseSql(text, typing.formats, typing.type);
    parsed_columns.push_back(fmt::format("{} AS __loch_v{}", text, i));
    parsed_columns.push_back(fmt::format("{} AS __loch_p{}", parse, i));
    aggregates.push_back(fmt::format(
        "count(__loch_v{0}), count(__loch_p{0}), CAST(min(__loch_p{0}) AS VARCHAR), "
        "CAST(max(__loch_p{0}) AS VARCHAR), min(__loch_v{0}) FILTER (WHERE __loch_v{0} IS NOT "
        "NULL AND __loch_p{0} IS NULL), max(__loch_v{0}) FILTER (WHERE __loch_v{0} IS NOT NULL "
        "AND __loch_p{0} IS NULL)",
        i));
  }
  const std::string source = parsed_columns.empty() ? scan
                                                    : fmt::format("(SELECT *, {} FROM {})",
                                                                  Join(parsed_columns, ", "), scan);
  ASSIGN_OR_RETURN(duck::Result stats, admin.Query(fmt::format("SELECT {} FROM {} GROUP BY ALL",
                                                               Join(aggregates, ", "), source)));
  ASSIGN_OR_RETURN(auto stat_rows, stats.FetchAllAsText());
  const size_t typed_at = 2 + 3 * measured.size();
  constexpr size_t kTypedMeasures = 6;
  for (const auto& row : stat_rows) {
    auto index = index_of_path.find(row[0].value_or(""));
    if (index == index_of_path.end()) continue;
    FileProfile& profile = *out[index->second];
    profile.row_count = std::stoll(row[1].value_or("0"));
    for (const Column& own : profile.columns) {
      auto at = std::find_if(measured.begin(), measured.end(),
                             [&](const Column* c) { return c->name == own.name; });
      if (at == measured.end() || !IsScalarType(own.type)) {
        profile.stats.push_back(ColumnStats{own.name, std::nullopt, std::nullopt, -1, own.type});
        continue;
      }
      const size_t m = static_cast<size_t>(at - measured.begin());
      // The bounds follow the order of the type they were measured in: the batch's, which may be
      // wider than this file's own (e.g. VARCHAR when another file of the batch has text there).
      profile.stats.push_back(ColumnStats{own.name, row[2 + 3 * m], row[3 + 3 * m],
                                          std::stoll(row[4 + 3 * m].value_or("0")), (*at)->type});
    }
    for (size_t c = 0; c < typed_names.size(); ++c) {
      const std::vector<size_t>& choosing = files_of_column[typed_names[c]];
      if (std::find(choosing.begin(), choosing.end(), index->second) == choosing.end()) continue;
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
