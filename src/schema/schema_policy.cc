#include "schema/schema_policy.h"

#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "common/strings.h"
#include "engine/datetime_formats.h"
#include "engine/text_types.h"
#include "fmt/format.h"
#include "schema/type_lattice.h"

namespace loch {
namespace {

Column* FindColumn(std::vector<Column>& columns, const std::string& name) {
  auto it = std::find_if(columns.begin(), columns.end(),
                         [&](const Column& column) { return column.name == name; });
  return it == columns.end() ? nullptr : &*it;
}

// A column that no value has typed yet keeps VARCHAR in the catalog, marked, so that the first
// values give it their type instead of widening it to text.
bool Untyped(const Column& column) { return column.metadata.value("untyped", false); }

// True if no row of `file` has a value in column `name` (an empty file, a header-only CSV, a key
// that is always null).
bool WithoutValues(const DataFile& file, const std::string& name) {
  if (file.row_count == 0) return true;
  return std::any_of(file.stats.begin(), file.stats.end(), [&](const ColumnStats& stats) {
    return stats.column == name && stats.null_count >= 0 && stats.null_count == file.row_count;
  });
}

// Whether a column of its type can hold text parsed as in its metadata.
bool TypeParsesText(const Column& column) {
  if (!DatetimeFormatsOf(column).empty()) {
    return column.type == "DATE" || column.type == "TIMESTAMP" ||
           column.type == "TIMESTAMP WITH TIME ZONE";
  }
  if (column.metadata.value("lenient", false)) return LenientTypeParses(column.type);
  return true;
}

bool NameTaken(const std::string& name, const std::vector<Column>& columns,
               const std::vector<std::string>& reserved) {
  auto same = [&](const std::string& other) { return EqualsIgnoringCase(name, other); };
  return std::any_of(columns.begin(), columns.end(),
                     [&](const Column& column) { return same(column.name); }) ||
         std::any_of(reserved.begin(), reserved.end(), same);
}

// `name`, or `name` with "_text" appended until no column has it (DuckDB's names ignore case).
std::string FreeName(std::string name, const std::vector<Column>& columns,
                     const std::vector<std::string>& reserved) {
  while (NameTaken(name, columns, reserved)) name += "_text";
  return name;
}

// Adds the raw companion of `columns[index]` (its text as written) if it has none; returns its
// name. `reserved`: names it must not take (the partition columns).
std::string EnsureRawCompanion(std::vector<Column>& columns, size_t index,
                               const std::vector<std::string>& reserved, SchemaChange& change) {
  if (auto it = columns[index].metadata.find("raw_column");
      it != columns[index].metadata.end() && it->is_string()) {
    return it->get<std::string>();
  }
  const std::string raw = FreeName(columns[index].name + "_raw", columns, reserved);
  columns[index].metadata["raw_column"] = raw;
  const std::string of = columns[index].name;
  columns.emplace_back(raw, "VARCHAR", true,
                       fmt::format("the text of {} as written in the files", of),
                       nlohmann::json{{"raw_of", of}});
  change.added.push_back(raw + " VARCHAR");
  return raw;
}

// A raw companion is loch's own column: when the files or the partitions come to have a column of
// its name, the companion moves aside (its files never held it) so that their values stay theirs.
void MoveRawCompanionsAside(std::vector<Column>& columns, const std::vector<std::string>& taken,
                            SchemaChange& change) {
  for (Column& companion : columns) {
    const std::optional<std::string> of = RawOf(companion);
    if (!of || !NameTaken(companion.name, {}, taken)) continue;
    const std::string renamed = FreeName(companion.name + "_text", columns, taken);
    for (Column& source : columns) {
      if (source.name == *of) source.metadata["raw_column"] = renamed;
    }
    change.renamed.push_back(fmt::format("{} -> {}", companion.name, renamed));
    companion.name = renamed;
  }
}

const char* const kHintKey = "hint";

// Types column `index` as its hint says (see ColumnHint); a raw companion keeps text that does
// not read as a type other than VARCHAR.
void EnforceHint(std::vector<Column>& columns, size_t index,
                 const std::vector<std::string>& reserved, SchemaChange& change) {
  Column& column = columns[index];
  const nlohmann::json& hint = column.metadata[kHintKey];
  const std::string type = hint.value("type", "");
  if (type.empty()) return;
  column.type = type;
  column.metadata.erase("untyped");
  if (type == "VARCHAR") {
    column.metadata.erase("lenient");
    column.metadata.erase("datetime_formats");
    return;
  }
  if (type == "DATE" || type == "TIMESTAMP") {
    column.metadata.erase("lenient");
    std::vector<std::string> formats = hint.value("formats", std::vector<std::string>{});
    if (formats.empty()) formats = DatetimeFormatsOf(column);
    if (formats.empty()) formats = {"iso8601"};
    column.metadata["datetime_formats"] = formats;
  } else {
    column.metadata.erase("datetime_formats");
    column.metadata["lenient"] = true;
  }
  EnsureRawCompanion(columns, index, reserved, change);
}

void EnforceHints(std::vector<Column>& columns, const std::vector<std::string>& reserved,
                  SchemaChange& change) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].metadata.contains(kHintKey)) EnforceHint(columns, i, reserved, change);
  }
}

std::string Examples(const std::vector<std::string>& examples) {
  std::vector<std::string> quoted;
  for (const std::string& example : examples) quoted.push_back("\"" + example + "\"");
  return Join(quoted, ", ");
}

std::string DescribeTyping(const Column& column) {
  std::vector<std::string> formats = DatetimeFormatsOf(column);
  if (formats.empty()) return fmt::format("{}: {} from text", column.name, column.type);
  std::vector<std::string> labels;
  for (const std::string& format : formats) labels.push_back(DatetimeFormatLabel(format));
  return fmt::format("{}: {} from {}", column.name, column.type, Join(labels, " or "));
}

}  // namespace

void SchemaChange::Include(const SchemaChange& later) {
  added.insert(added.end(), later.added.begin(), later.added.end());
  widened.insert(widened.end(), later.widened.begin(), later.widened.end());
  typed.insert(typed.end(), later.typed.begin(), later.typed.end());
  renamed.insert(renamed.end(), later.renamed.begin(), later.renamed.end());
}

SchemaChange MergeColumns(std::vector<Column>& schema, const std::vector<Column>& file_columns) {
  SchemaChange change;
  for (const Column& incoming : file_columns) {
    Column* existing = FindColumn(schema, incoming.name);
    if (existing == nullptr) {
      schema.push_back(incoming);
      schema.back().nullable = true;
      if (IsUnknownType(incoming.type)) {
        schema.back().type = "VARCHAR";
        schema.back().metadata["untyped"] = true;
        change.added.push_back(incoming.name + " (no values yet)");
      } else {
        change.added.push_back(incoming.name + " " + incoming.type);
      }
      continue;
    }
    existing->nullable = true;
    if (IsUnknownType(incoming.type)) continue;
    if (Untyped(*existing)) {
      // The file's typing replaces none of what the table keeps about the column itself.
      nlohmann::json kept = nlohmann::json::object();
      for (const char* key : {"raw_column", "hint", "file_names"}) {
        if (existing->metadata.contains(key)) kept[key] = existing->metadata[key];
      }
      existing->type = incoming.type;
      existing->metadata = incoming.metadata;
      existing->metadata.update(kept);
      change.typed.push_back(incoming.name + " " + incoming.type);
      continue;
    }
    const std::string widened = WidenType(existing->type, incoming.type);
    if (widened != existing->type) {
      change.widened.push_back(
          fmt::format("{}: {} -> {}", existing->name, existing->type, widened));
      existing->type = widened;
    }
    // Text that must be parsed in one file is parsed in all: a typed value reads back as itself
    // (text_types.h), a bad one as NULL instead of failing every query.
    if (ParsedFromText(incoming) && !ParsedFromText(*existing)) {
      for (const char* key : {"datetime_formats", "lenient"}) {
        if (incoming.metadata.contains(key)) existing->metadata[key] = incoming.metadata[key];
      }
    }
  }
  return change;
}

std::string InferPartitionType(const std::vector<std::string>& values) {
  static const std::regex kInteger("-?[0-9]{1,18}");
  static const std::regex kDate("[0-9]{4}-[0-9]{2}-[0-9]{2}");
  bool all_integers = !values.empty(), all_dates = !values.empty();
  for (const std::string& value : values) {
    all_integers = all_integers && std::regex_match(value, kInteger);
    all_dates = all_dates && std::regex_match(value, kDate);
  }
  if (all_integers) return "BIGINT";
  if (all_dates) return "DATE";
  return "VARCHAR";
}

namespace {

// MergeFile for a file whose columns have the table's names.
FileMerge MergeFileByName(const Schema& schema, const FileProfile& profile, const DataFile& file,
                          const std::string& table) {
  FileMerge merge;
  merge.schema = schema;
  merge.file = file;
  const std::string& key = file.key;
  // Text the file reads with formats the table cannot take (day-first dates in a month-first
  // column) is read as the table reads it.
  std::map<std::string, TextTyping> typed_text = profile.typed_text;
  std::map<std::string, std::vector<std::string>> other_order;  // column -> the file's formats
  std::erase_if(typed_text, [&](const auto& entry) {
    const Column* known = schema.Find(entry.first);
    if (known == nullptr ||
        !DatetimeFormatsConflict(DatetimeFormatsOf(*known), entry.second.formats))
      return false;
    other_order[entry.first] = entry.second.formats;
    return true;
  });
  std::vector<Column> file_columns;
  std::vector<std::string> read_with_table_parsing;  // text this file did not type by itself
  for (Column column : profile.columns) {
    column.nullable = true;
    if (std::any_of(schema.partition_columns.begin(), schema.partition_columns.end(),
                    [&](const Column& p) { return EqualsIgnoringCase(p.name, column.name); })) {
      continue;  // the folder's value wins over a same-named column in the file
    }
    const Column* known = schema.Find(column.name);
    if (WithoutValues(file, column.name)) {
      column.type = "NULL";
    } else if (auto typed = typed_text.find(column.name); typed != typed_text.end()) {
      column.type = typed->second.type;
      column.metadata = nlohmann::json::object();
      if (typed->second.formats.empty()) {
        column.metadata["lenient"] = true;
      } else {
        column.metadata["datetime_formats"] = typed->second.formats;
      }
    } else if (column.type == "VARCHAR" && known != nullptr && ParsedFromText(*known) &&
               !Untyped(*known)) {
      column.type = known->type;  // text the table already parses: read this file's the same way
      column.metadata = known->metadata;
      read_with_table_parsing.push_back(column.name);
    }
    file_columns.push_back(std::move(column));
  }

  std::vector<Column>& columns = merge.schema.columns;
  std::vector<std::string> partitions;
  for (const Column& partition : schema.partition_columns) partitions.push_back(partition.name);
  std::vector<std::string> taken = partitions;  // by the files' own columns and the folders
  for (const Column& column : file_columns) taken.push_back(column.name);
  MoveRawCompanionsAside(columns, taken, merge.change);
  {
    SchemaChange merged = MergeColumns(columns, file_columns);
    merge.change.Include(merged);
  }
  // Datetime formats seen in this file join the column's formats.
  for (const auto& [name, typed] : typed_text) {
    Column* column = FindColumn(columns, name);
    if (column == nullptr || typed.formats.empty() || DatetimeFormatsOf(*column).empty()) continue;
    std::vector<std::string> formats = DatetimeFormatsOf(*column);
    for (const std::string& format : typed.formats) {
      if (std::find(formats.begin(), formats.end(), format) == formats.end())
        formats.push_back(format);
    }
    column->metadata["datetime_formats"] = formats;
    column->type = WidenType(column->type, DatetimeTypeFor(formats));  // never narrows
  }
  // A column widened beyond what text parses to (e.g. to VARCHAR) reads its values as they are.
  for (Column& column : columns) {
    if (!TypeParsesText(column)) {
      column.metadata.erase("datetime_formats");
      column.metadata.erase("lenient");
    }
  }
  for (const std::string& widened : merge.change.widened) {
    if (widened.ends_with("-> VARCHAR")) {
      merge.warnings.push_back(fmt::format(
          "type conflict in {}: column {} as of {} (earlier files disagree); it is now text", table,
          widened, key));
    }
  }

  EnforceHints(columns, partitions, merge.change);

  // Text the table reads as another type: values that do not parse keep their text in the raw
  // companion, and the file's statistics become the parsed range (pruning compares typed values).
  auto index_of = [&](const std::string& name) -> std::optional<size_t> {
    const Column* column = FindColumn(columns, name);
    if (column == nullptr || !ParsedFromText(*column)) return std::nullopt;
    return static_cast<size_t>(column - columns.data());
  };
  for (const auto& [name, typed] : typed_text) {
    const std::optional<size_t> index = index_of(name);
    if (!index) continue;
    merge.typed_text.push_back(DescribeTyping(columns[*index]));
    if (typed.parsed < typed.values) {
      const std::string raw = EnsureRawCompanion(columns, *index, partitions, merge.change);
      merge.unparsed.push_back(UnparsedValues{name, columns[*index].type, raw, typed.values,
                                              typed.values - typed.parsed, typed.bad_examples});
    }
    const Column& column = columns[*index];
    // The range was measured reading the file as it chose; usable only if the table reads it the
    // same way.
    const bool same_reading =
        typed.type == column.type && typed.formats == DatetimeFormatsOf(column);
    for (ColumnStats& stats : merge.file.stats) {
      if (stats.column != name) continue;
      stats.min = typed.min;
      stats.max = typed.max;
      if (stats.stored_type.empty()) stats.stored_type = stats.type;  // the file keeps text
      // Values that do not parse are left out of the range, but a format the table learns later
      // may parse them: then the range no longer bounds the column (type unknown: unused).
      stats.type = typed.parsed == typed.values && same_reading ? typed.type : "";
    }
  }
  for (const std::string& name : read_with_table_parsing) {
    const std::optional<size_t> index = index_of(name);
    if (!index) continue;
    const std::string raw = EnsureRawCompanion(columns, *index, partitions, merge.change);
    if (auto formats = other_order.find(name); formats != other_order.end()) {
      std::vector<std::string> file_labels, table_labels;
      for (const std::string& format : formats->second)
        file_labels.push_back(DatetimeFormatLabel(format));
      for (const std::string& format : DatetimeFormatsOf(columns[*index]))
        table_labels.push_back(DatetimeFormatLabel(format));
      merge.warnings.push_back(fmt::format(
          "{}.{}: {} writes its dates as {} but the table reads them as {}: they are read as the "
          "table reads them, so a date like 05/03/2024 may read in the other order, and one that "
          "does not read so is NULL with its text in {}",
          table, name, key, Join(file_labels, " or "), Join(table_labels, " or "), raw));
    } else {
      merge.warnings.push_back(fmt::format(
          "{}.{}: most values in {} are not {}; they are read as the table reads the column "
          "(values that do not parse read as NULL, their text stays in {})",
          table, name, key, columns[*index].type, raw));
    }
    for (ColumnStats& stats : merge.file.stats) {
      if (stats.column != name) continue;
      if (stats.stored_type.empty()) stats.stored_type = stats.type;
      stats.type = "";  // text bounds: not the column's order
    }
  }
  return merge;
}

// For a file that has renamed columns under a name they had before (and not under their own):
// file name -> the column's name now.
std::map<std::string, std::string> FormerNamesIn(const Schema& schema, const FileProfile& profile) {
  std::set<std::string> in_file;
  for (const Column& column : profile.columns) in_file.insert(column.name);
  std::map<std::string, std::string> renames;
  for (const Column& column : schema.columns) {
    if (in_file.contains(column.name)) continue;
    for (const std::string& name : column.FileNames()) {
      if (name != column.name && in_file.contains(name) && schema.Find(name) == nullptr) {
        renames.emplace(name, column.name);
        break;
      }
    }
  }
  return renames;
}

// Why a column of the file cannot join the table because it is one of the table's column names in
// another case ("" if none is). Column names ignore case, so the table cannot hold both, and a
// scan reads a file's keys as spelled: the file's values would read as NULL. (A partition column
// of another case is not one: the folder's value wins, as over a same-named column.)
std::string CaseVariantOfAColumn(const Schema& schema, const FileProfile& profile) {
  // The names the table's columns have in files -> the column. (Raw companions are not in files;
  // a file column of their name moves them aside.)
  std::map<std::string, std::string> spelled;
  for (const Column& column : schema.columns) {
    if (RawOf(column)) continue;
    for (std::string& name : column.FileNames()) spelled.emplace(std::move(name), column.name);
  }
  for (const Column& in_file : profile.columns) {
    if (spelled.contains(in_file.name)) continue;
    for (const auto& [name, column] : spelled) {
      if (!EqualsIgnoringCase(name, in_file.name)) continue;
      return fmt::format(
          "it has column \"{}\", but the table reads \"{}\"{}: column names ignore case (in "
          "loch as in DuckDB, Athena and Spark), so the table cannot hold both; spell the key as "
          "the table does where the records are made, or load the file into another table",
          in_file.name, name,
          name == column ? "" : fmt::format(" (into column {}, renamed)", column));
    }
  }
  return "";
}

}  // namespace

FileMerge MergeFile(const Schema& schema, const FileProfile& profile, const DataFile& file,
                    const std::string& table) {
  // A renamed column reads each file by whichever of its names the file has (table_view.cc): a
  // file with two of them (a field that came back under the old name, meaning something else)
  // would mix them up.
  std::set<std::string> in_file;
  for (const Column& column : profile.columns) in_file.insert(column.name);
  for (const Column& column : schema.columns) {
    std::vector<std::string> present;
    for (const std::string& name : column.FileNames()) {
      if (in_file.contains(name)) present.push_back(name);
    }
    if (present.size() < 2) continue;
    FileMerge refused;
    refused.schema = schema;
    refused.file = file;
    refused.refused = fmt::format(
        "it has columns {} and {}, but {} was named {} before a rename (ALTER TABLE {} RENAME "
        "COLUMN): the table cannot tell them apart; rename the column in the file, or load it "
        "into another table",
        present[0], present[1], column.name, present[1], table);
    return refused;
  }
  if (const std::string clash = CaseVariantOfAColumn(schema, profile); !clash.empty()) {
    FileMerge refused;
    refused.schema = schema;
    refused.file = file;
    refused.refused = clash;
    return refused;
  }
  const std::map<std::string, std::string> renames = FormerNamesIn(schema, profile);
  if (renames.empty()) return MergeFileByName(schema, profile, file, table);
  // Merge under the table's names; the file's statistics keep the names it has (the scan reads
  // each file by its own names).
  auto now = [&](const std::string& name) {
    auto renamed = renames.find(name);
    return renamed == renames.end() ? name : renamed->second;
  };
  FileProfile renamed = profile;
  for (Column& column : renamed.columns) column.name = now(column.name);
  for (ColumnStats& stats : renamed.stats) stats.column = now(stats.column);
  renamed.typed_text.clear();
  for (const auto& [name, typing] : profile.typed_text)
    renamed.typed_text.emplace(now(name), typing);
  DataFile renamed_file = file;
  for (ColumnStats& stats : renamed_file.stats) stats.column = now(stats.column);
  FileMerge merge = MergeFileByName(schema, renamed, renamed_file, table);
  std::map<std::string, std::string> before;
  for (const auto& [old_name, new_name] : renames) before.emplace(new_name, old_name);
  for (ColumnStats& stats : merge.file.stats) {
    if (auto old_name = before.find(stats.column); old_name != before.end())
      stats.column = old_name->second;
  }
  return merge;
}

absl::StatusOr<ColumnHint> ParseColumnHint(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "--column \"{}\" must be NAME:TYPE, e.g. zip:VARCHAR or amount:DECIMAL(12,2)", text));
  }
  ColumnHint hint;
  hint.column = std::string(text.substr(0, colon));
  std::string type = std::string(text.substr(colon + 1));
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  type.erase(std::remove(type.begin(), type.end(), ' '), type.end());
  static const std::map<std::string, std::string> kSynonyms = {
      {"TEXT", "VARCHAR"},  {"STRING", "VARCHAR"}, {"INT", "INTEGER"},
      {"INT4", "INTEGER"},  {"INT8", "BIGINT"},    {"LONG", "BIGINT"},
      {"FLOAT8", "DOUBLE"}, {"BOOL", "BOOLEAN"},   {"DATETIME", "TIMESTAMP"}};
  if (auto synonym = kSynonyms.find(type); synonym != kSynonyms.end()) type = synonym->second;
  static const std::regex kDecimal("DECIMAL\\(([0-9]{1,2}),([0-9]{1,2})\\)");
  std::smatch decimal;
  const bool is_decimal = std::regex_match(type, decimal, kDecimal);
  if (is_decimal) {
    const int width = std::stoi(decimal[1]), scale = std::stoi(decimal[2]);
    if (width < 1 || width > 38 || scale > width) {
      return absl::InvalidArgumentError(
          fmt::format("--column {}: DECIMAL(width,scale) needs 1 <= width <= 38 and scale <= width",
                      hint.column));
    }
    type = fmt::format("DECIMAL({},{})", width, scale);
  }
  static const std::vector<std::string> kTypes = {"VARCHAR", "BIGINT", "INTEGER",  "DOUBLE",
                                                  "BOOLEAN", "DATE",   "TIMESTAMP"};
  if (!is_decimal && std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end()) {
    return absl::InvalidArgumentError(
        fmt::format("--column {}: unknown type \"{}\"; use one of {}, DECIMAL(width,scale)",
                    hint.column, text.substr(colon + 1), Join(kTypes, ", ")));
  }
  hint.type = std::move(type);
  return hint;
}

void ApplyColumnHints(Schema& schema, const std::vector<ColumnHint>& hints, SchemaChange& change) {
  std::vector<std::string> partitions;
  for (const Column& partition : schema.partition_columns) partitions.push_back(partition.name);
  for (const ColumnHint& hint : hints) {
    Column* column = FindColumn(schema.columns, hint.column);
    if (column == nullptr) continue;
    column->metadata[kHintKey] = {{"type", hint.type}, {"formats", hint.formats}};
  }
  EnforceHints(schema.columns, partitions, change);
}

void UnparsedSummary::Add(const std::string& file, const std::vector<UnparsedValues>& unparsed) {
  for (const UnparsedValues& values : unparsed) {
    auto same = std::find_if(columns_.begin(), columns_.end(), [&](const Column& column) {
      return column.sum.column == values.column;
    });
    if (same == columns_.end()) {
      columns_.push_back(Column{values, file, 1});
      continue;
    }
    same->sum.type = values.type;
    same->sum.values += values.values;
    same->sum.unparsed += values.unparsed;
    ++same->files;
    for (const std::string& example : values.examples) {
      std::vector<std::string>& examples = same->sum.examples;
      if (examples.size() < 3 &&
          std::find(examples.begin(), examples.end(), example) == examples.end())
        examples.push_back(example);
    }
  }
}

std::vector<std::string> UnparsedSummary::Lines(const std::string& table) const {
  std::vector<std::string> lines;
  for (const Column& column : columns_) {
    const std::string where =
        column.files == 1 ? column.first_file
                          : fmt::format("{} files (first {})", column.files, column.first_file);
    lines.push_back(fmt::format(
        "{}.{}: {} of {} value(s) in {} do not read as {} (e.g. {}); they read as NULL and their "
        "text stays in {}",
        table, column.sum.column, column.sum.unparsed, column.sum.values, where, column.sum.type,
        Examples(column.sum.examples), column.sum.raw_column));
  }
  return lines;
}

}  // namespace loch
