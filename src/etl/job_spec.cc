#include "etl/job_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "common/strings.h"
#include "engine/type_tree.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

using nlohmann::json;

// Every field of a job: its own and those of its run policy (run_policy.h).
const std::vector<std::string> kFields = [] {
  std::vector<std::string> fields = {"name",    "sql",           "target",      "mode",
                                     "keys",    "group_by",      "measures",    "partition_by",
                                     "sort_by", "types",         "required",    "max_bad_fraction",
                                     "rules",   "file_size_mib", "incremental", "description"};
  fields.insert(fields.end(), kRunPolicyFields.begin(), kRunPolicyFields.end());
  return fields;
}();

absl::Status FieldError(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("job field \"{}\": {}", field, what));
}

absl::StatusOr<std::string> Text(const json& object, std::string_view field, bool required) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) {
    if (required) return FieldError(field, "missing");
    return std::string();
  }
  if (!it->is_string()) return FieldError(field, "must be a string");
  return it->get<std::string>();
}

// A plain identifier ([A-Za-z_][A-Za-z0-9_]*) or a double-quoted name (no quote inside) at the
// front of `text`, which is advanced past it; nullopt if there is none.
std::optional<std::string> TakeName(std::string_view& text) {
  if (!text.empty() && text.front() == '"') {
    const size_t end = text.find('"', 1);
    if (end == std::string_view::npos || end == 1) return std::nullopt;
    std::string name(text.substr(1, end - 1));
    text.remove_prefix(end + 1);
    return name;
  }
  size_t length = 0;
  while (length < text.size() &&
         (std::isalpha(static_cast<unsigned char>(text[length])) || text[length] == '_' ||
          (length > 0 && std::isdigit(static_cast<unsigned char>(text[length]))))) {
    ++length;
  }
  if (length == 0) return std::nullopt;
  std::string name(text.substr(0, length));
  text.remove_prefix(length);
  return name;
}

void SkipSpaces(std::string_view& text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
}

absl::StatusOr<Measure> ParseMeasure(std::string_view text) {
  const std::string shown(text.substr(0, 200));
  auto wrong = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("measure \"{}\": {}", shown, why));
  };
  SkipSpaces(text);
  std::optional<std::string> function = TakeName(text);
  if (!function) return wrong("must be FUNCTION(COLUMN) [AS NAME], e.g. sum(price) AS revenue");
  for (char& c : *function) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (*function == "avg" || *function == "mean") {
    return wrong(
        "an average does not merge; keep sum(COLUMN) and count(COLUMN), and divide them "
        "in queries");
  }
  if (*function != "count" && *function != "sum" && *function != "min" && *function != "max") {
    return wrong("rollups keep count, sum, min and max (their partial results merge)");
  }
  Measure measure;
  measure.function = *function;
  SkipSpaces(text);
  if (text.empty() || text.front() != '(') return wrong("expected ( after the function");
  text.remove_prefix(1);
  SkipSpaces(text);
  if (!text.empty() && text.front() == '*') {
    if (measure.function != "count") return wrong("only count takes *");
    text.remove_prefix(1);
  } else {
    std::optional<std::string> argument = TakeName(text);
    if (!argument) return wrong("expected a column name or * in the parentheses");
    std::string lower = *argument;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "distinct") return wrong("count(DISTINCT ...) does not merge");
    measure.argument = std::move(*argument);
  }
  SkipSpaces(text);
  if (text.empty() || text.front() != ')') return wrong("expected ) after the column");
  text.remove_prefix(1);
  SkipSpaces(text);
  if (!text.empty()) {
    std::optional<std::string> as = TakeName(text);
    if (!as || (*as != "AS" && *as != "as" && *as != "As" && *as != "aS"))
      return wrong("expected AS NAME or the end after the parentheses");
    SkipSpaces(text);
    std::optional<std::string> name = TakeName(text);
    if (!name) return wrong("expected a name after AS");
    measure.name = std::move(*name);
    SkipSpaces(text);
    if (!text.empty()) return wrong("expected the end after the name");
  } else {
    measure.name =
        measure.argument.empty() ? measure.function : measure.function + "_" + measure.argument;
  }
  return measure;
}

absl::StatusOr<std::vector<std::string>> Names(const json& object, std::string_view field) {
  std::vector<std::string> names;
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return names;
  const json list = it->is_string() ? json::array({*it}) : *it;
  if (!list.is_array()) return FieldError(field, "must be a list of column names");
  for (const json& name : list) {
    if (!name.is_string() || name.get<std::string>().empty()) {
      return FieldError(field, "must be a list of column names");
    }
    if (std::find(names.begin(), names.end(), name.get<std::string>()) != names.end()) {
      return FieldError(field, fmt::format("names \"{}\" twice", name.get<std::string>()));
    }
    names.push_back(name.get<std::string>());
  }
  if (names.size() > 64) return FieldError(field, "at most 64 columns");
  return names;
}

// The deepest nesting a YAML text could reach, over-estimated from indentation, block sequence
// indicators and flow brackets (quoted text skipped): yaml-cpp parses recursively, so a hostile
// document must be refused before it is parsed.
size_t NestingBound(std::string_view yaml) {
  size_t deepest = 0, flow = 0;
  bool line_start = true;
  size_t indent = 0;
  char quote = 0;
  for (size_t i = 0; i < yaml.size(); ++i) {
    const char c = yaml[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
      if (c == '\n') line_start = true, indent = 0;
      continue;
    }
    if (c == '\n') {
      line_start = true;
      indent = 0;
      continue;
    }
    if (line_start && (c == ' ' || c == '-' || c == '?' || c == ':' || c == '\t')) {
      ++indent;
      deepest = std::max(deepest, indent + flow);
      continue;
    }
    const char before = line_start ? ' ' : yaml[i - 1];
    line_start = false;
    // Quotes open quoted text only where a token starts ("it's" is plain text).
    const bool token_start = before == ' ' || before == '\t' || before == '[' || before == '{' ||
                             before == ',' || before == ':' || before == '-';
    if (c == '#' && (before == ' ' || before == '\t')) {  // a comment runs to the line's end
      while (i + 1 < yaml.size() && yaml[i + 1] != '\n') ++i;
    } else if ((c == '"' || c == '\'') && token_start) {
      quote = c;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, indent + ++flow);
    } else if ((c == ']' || c == '}') && flow > 0) {
      --flow;
    }
  }
  return deepest;
}

// The YAML node as JSON: scalars stay strings (JobSpecFromJson reads them as it must), except
// where a field needs a number or a boolean. `budget` bytes at most, each node counting 16 plus
// its text: aliases repeat what they name, so a small file could otherwise expand without bound.
absl::StatusOr<json> ToJsonNode(const YAML::Node& node, size_t& budget) {
  const size_t cost = 16 + (node.IsScalar() ? node.Scalar().size() : 0);
  if (budget < cost) return absl::InvalidArgumentError("the job file expands to too much data");
  budget -= cost;
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      return json(node.Scalar());
    case YAML::NodeType::Sequence: {
      json list = json::array();
      for (const YAML::Node& item : node) {
        ASSIGN_OR_RETURN(json value, ToJsonNode(item, budget));
        list.push_back(std::move(value));
      }
      return list;
    }
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          return absl::InvalidArgumentError("the job file's keys must be plain names");
        }
        ASSIGN_OR_RETURN(json value, ToJsonNode(entry.second, budget));
        object[entry.first.Scalar()] = std::move(value);
      }
      return object;
    }
  }
  return json(nullptr);
}

// YAML scalars arrive as text: a field that needs a number or a boolean reads it from the text.
absl::Status TypeYamlScalars(json& object) {
  if (auto it = object.find("file_size_mib"); it != object.end() && it->is_string()) {
    const std::optional<int64_t> number = ParseInteger(it->get<std::string>());
    if (!number) return FieldError("file_size_mib", "must be a whole number of MiB");
    *it = *number;
  }
  if (auto it = object.find("max_bad_fraction"); it != object.end() && it->is_string()) {
    const std::string text = it->get<std::string>();
    double number = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end != text.data() + text.size()) {
      return FieldError("max_bad_fraction", "must be a number from 0 to 1");
    }
    *it = number;
  }
  if (auto it = object.find("incremental"); it != object.end() && it->is_string()) {
    const std::string text = it->get<std::string>();
    if (text != "true" && text != "false")
      return FieldError("incremental", "must be true or false");
    *it = text == "true";
  }
  return TypeRunPolicyYamlScalars(object);
}

}  // namespace

namespace {

// group_by and measures: required by rollup jobs, refused on others; the partitions and the sort
// must be columns a rollup row has.
absl::Status ReadRollup(const json& object, JobSpec& spec) {
  ASSIGN_OR_RETURN(spec.group_by, Names(object, "group_by"));
  if (const auto it = object.find("measures"); it != object.end() && !it->is_null()) {
    std::string text;
    if (it->is_string()) {
      text = it->get<std::string>();
    } else if (it->is_array()) {
      for (const json& item : *it) {
        if (!item.is_string()) return FieldError("measures", "must be a text or a list of texts");
        text += (text.empty() ? "" : ", ") + item.get<std::string>();
      }
    } else {
      return FieldError("measures", "must be a text or a list of texts");
    }
    if (text.find_first_not_of(" \t\r\n") != std::string::npos) {  // else: none, as []
      auto measures = ParseMeasures(text);
      if (!measures.ok()) return FieldError("measures", ToStd(measures.status().message()));
      spec.measures = std::move(*measures);
    }
  }
  if (spec.mode != WriteMode::kRollup) {
    if (!spec.group_by.empty()) return FieldError("group_by", "only rollup jobs group");
    if (!spec.measures.empty()) return FieldError("measures", "only rollup jobs have measures");
    return absl::OkStatus();
  }
  if (spec.group_by.empty()) {
    return FieldError("group_by", "a rollup job needs the columns its rows are grouped by");
  }
  if (spec.measures.empty()) {
    return FieldError("measures",
                      "a rollup job needs what it keeps, e.g. \"count(*), sum(price)\"");
  }
  std::vector<std::string> columns = spec.group_by;
  for (const Measure& measure : spec.measures) {
    for (const std::string& group : spec.group_by) {
      if (EqualsIgnoringCase(group, measure.name)) {
        return FieldError("measures", fmt::format("\"{}\" is a group_by column; name the "
                                                  "measure another way with AS",
                                                  measure.name));
      }
    }
    columns.push_back(measure.name);
  }
  for (const std::string& partition : spec.partition_by) {
    if (std::find(spec.group_by.begin(), spec.group_by.end(), partition) == spec.group_by.end()) {
      return FieldError("partition_by", fmt::format("\"{}\" is not a group_by column: a rollup "
                                                    "row has only those and its measures",
                                                    partition));
    }
  }
  for (const std::string& sort : spec.sort_by) {
    if (std::find(columns.begin(), columns.end(), sort) == columns.end()) {
      return FieldError("sort_by", fmt::format("\"{}\" is not a column of the rollup ({})", sort,
                                               Join(columns, ", ")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ModeName(WriteMode mode) {
  switch (mode) {
    case WriteMode::kAppend:
      return "append";
    case WriteMode::kReplacePartitions:
      return "replace-partitions";
    case WriteMode::kMerge:
      return "merge";
    case WriteMode::kHistory:
      return "history";
    case WriteMode::kRollup:
      return "rollup";
  }
  return "append";
}

absl::StatusOr<WriteMode> ParseMode(std::string_view name) {
  if (name == "append") return WriteMode::kAppend;
  if (name == "replace-partitions") return WriteMode::kReplacePartitions;
  if (name == "merge") return WriteMode::kMerge;
  if (name == "history") return WriteMode::kHistory;
  if (name == "rollup") return WriteMode::kRollup;
  return absl::InvalidArgumentError(fmt::format(
      "unknown mode \"{}\"; the modes are append, replace-partitions, merge, history and rollup",
      name));
}

std::string_view WithoutFinalSemicolons(std::string_view sql) {
  while (!sql.empty() &&
         (sql.back() == ';' || std::isspace(static_cast<unsigned char>(sql.back()))))
    sql.remove_suffix(1);
  return sql;
}

std::string Measure::ToText() const {
  auto quoted = [](const std::string& name) {
    const bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                       std::all_of(name.begin(), name.end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                       });
    return plain ? name : "\"" + name + "\"";
  };
  return fmt::format("{}({}) AS {}", function, argument.empty() ? "*" : quoted(argument),
                     quoted(name));
}

absl::StatusOr<std::vector<Measure>> ParseMeasures(std::string_view text) {
  std::vector<Measure> measures;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == '"') quoted = !quoted;
    if (i < text.size() && (quoted || text[i] != ',')) continue;
    ASSIGN_OR_RETURN(Measure measure, ParseMeasure(text.substr(start, i - start)));
    for (const Measure& earlier : measures) {
      if (EqualsIgnoringCase(earlier.name, measure.name)) {
        return absl::InvalidArgumentError(
            fmt::format("two measures are named \"{}\"; name one with AS", measure.name));
      }
    }
    measures.push_back(std::move(measure));
    if (measures.size() > 64) return absl::InvalidArgumentError("at most 64 measures");
    start = i + 1;
  }
  return measures;
}

// types, required and max_bad_fraction (the quarantine: row_checks.h).
absl::Status ReadRowChecks(const json& object, JobSpec& spec) {
  constexpr size_t kMaxTypes = 1000, kMaxTypeBytes = 1000;
  if (const auto it = object.find("types"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) return FieldError("types", "must map column names to types");
    if (it->size() > kMaxTypes) {
      return FieldError("types", fmt::format("at most {} columns", kMaxTypes));
    }
    for (const auto& [column, type] : it->items()) {
      if (column.empty() || column.size() > kMaxTypeBytes) {
        return FieldError("types", "must map column names to types");
      }
      // Type names only: letters, digits, _, spaces and ( ) , [ ] (no quotes, comments or ';',
      // as the text goes into SQL).
      const auto allowed = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ' ' || c == '(' ||
               c == ')' || c == ',' || c == '[' || c == ']';
      };
      const std::string text = type.is_string() ? type.get<std::string>() : "";
      if (text.empty() || text.size() > kMaxTypeBytes ||
          !std::all_of(text.begin(), text.end(), allowed) || !ParseType(text).has_value()) {
        return FieldError("types", fmt::format("column \"{}\": not a type name", column));
      }
      for (const auto& [other, ignored] : spec.types) {
        if (std::equal(other.begin(), other.end(), column.begin(), column.end(),
                       [](char a, char b) {
                         return std::tolower(static_cast<unsigned char>(a)) ==
                                std::tolower(static_cast<unsigned char>(b));
                       })) {
          return FieldError("types", fmt::format("names column \"{}\" twice", column));
        }
      }
      spec.types[column] = text;
    }
  }
  ASSIGN_OR_RETURN(spec.required, Names(object, "required"));
  if (const auto it = object.find("max_bad_fraction"); it != object.end() && !it->is_null()) {
    if (!it->is_number() || !(it->get<double>() >= 0 && it->get<double>() <= 1)) {
      return FieldError("max_bad_fraction", "must be a number from 0 to 1");
    }
    spec.max_bad_fraction = it->get<double>();
  }
  return absl::OkStatus();
}

absl::StatusOr<JobSpec> JobSpecFromJson(const json& object) {
  if (!object.is_object()) return absl::InvalidArgumentError("a job is an object of fields");
  for (const auto& [field, value] : object.items()) {
    if (std::find(kFields.begin(), kFields.end(), field) == kFields.end()) {
      return absl::InvalidArgumentError(
          fmt::format("unknown job field \"{}\"; the fields are {}", field, Join(kFields, ", ")));
    }
  }
  JobSpec spec;
  ASSIGN_OR_RETURN(spec.name, Text(object, "name", true));
  RETURN_IF_ERROR(ValidateIdentifier(spec.name, "job"));
  ASSIGN_OR_RETURN(spec.sql, Text(object, "sql", true));
  if (spec.sql.find_first_not_of(" \t\r\n") == std::string::npos) {
    return FieldError("sql", "is empty");
  }
  if (spec.sql.size() > JobSpec::kMaxSqlBytes) {
    return FieldError("sql", fmt::format("is over {} bytes", JobSpec::kMaxSqlBytes));
  }
  ASSIGN_OR_RETURN(const std::string target, Text(object, "target", true));
  auto table = TableName::Parse(target);
  if (!table.ok()) return FieldError("target", ToStd(table.status().message()));
  spec.target = *table;
  ASSIGN_OR_RETURN(const std::string mode, Text(object, "mode", false));
  if (!mode.empty()) {
    auto parsed = ParseMode(mode);
    if (!parsed.ok()) return FieldError("mode", ToStd(parsed.status().message()));
    spec.mode = *parsed;
  }
  ASSIGN_OR_RETURN(spec.keys, Names(object, "keys"));
  const bool keyed = spec.mode == WriteMode::kMerge || spec.mode == WriteMode::kHistory;
  if (keyed && spec.keys.empty()) {
    return FieldError(
        "keys", fmt::format("a {} job needs the columns that identify a row", ModeName(spec.mode)));
  }
  if (!keyed && !spec.keys.empty()) {
    return FieldError("keys", "only merge and history jobs have keys");
  }
  ASSIGN_OR_RETURN(spec.partition_by, Names(object, "partition_by"));
  ASSIGN_OR_RETURN(spec.sort_by, Names(object, "sort_by"));
  RETURN_IF_ERROR(ReadRollup(object, spec));
  if (const auto it = object.find("file_size_mib"); it != object.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 ||
        it->get<int64_t>() > JobSpec::kMaxFileSizeMib) {
      return FieldError("file_size_mib", fmt::format("must be a whole number from 1 to {}",
                                                     JobSpec::kMaxFileSizeMib));
    }
    spec.file_size_mib = it->get<int64_t>();
  }
  if (const auto it = object.find("incremental"); it != object.end() && !it->is_null()) {
    if (!it->is_boolean()) return FieldError("incremental", "must be true or false");
    spec.incremental = it->get<bool>();
  }
  RETURN_IF_ERROR(ReadRowChecks(object, spec));
  ASSIGN_OR_RETURN(spec.rules_text, Text(object, "rules", false));
  auto parsed_rules = ParseRules(spec.rules_text);
  if (!parsed_rules.ok()) return FieldError("rules", ToStd(parsed_rules.status().message()));
  spec.rules = std::move(*parsed_rules);
  if (spec.rules.empty()) spec.rules_text.clear();  // comments alone
  ASSIGN_OR_RETURN(spec.description, Text(object, "description", false));
  ASSIGN_OR_RETURN(spec.policy, RunPolicyFromJson(object));
  if (std::find(spec.policy.after.begin(), spec.policy.after.end(), spec.name) !=
      spec.policy.after.end()) {
    return FieldError("after", "a job cannot run after itself");
  }
  return spec;
}

namespace {
json MeasureTexts(const std::vector<Measure>& measures) {
  json texts = json::array();
  for (const Measure& measure : measures) texts.push_back(measure.ToText());
  return texts;
}
}  // namespace

json ToJson(const JobSpec& spec) {
  json fields = json{{"name", spec.name},
                     {"sql", spec.sql},
                     {"target", spec.target.ToString()},
                     {"mode", ModeName(spec.mode)},
                     {"keys", spec.keys},
                     {"partition_by", spec.partition_by},
                     {"sort_by", spec.sort_by},
                     {"file_size_mib", spec.file_size_mib},
                     {"incremental", spec.incremental},
                     {"description", spec.description}};
  // Only rollups have these: the stored form of every other job stays as it was before them (an
  // unchanged job keeps its version).
  if (spec.mode == WriteMode::kRollup) {
    fields["group_by"] = spec.group_by;
    fields["measures"] = MeasureTexts(spec.measures);
  }
  if (!spec.rules.empty()) fields["rules"] = spec.rules_text;
  AddRunPolicyJson(spec.policy, fields);
  if (spec.ChecksRows()) {
    fields["types"] = spec.types;
    fields["required"] = spec.required;
    fields["max_bad_fraction"] = spec.max_bad_fraction.value_or(0);
  }
  return fields;
}

absl::StatusOr<JobSpec> JobSpecFromYaml(std::string_view yaml) {
  constexpr size_t kMaxNesting = 64;
  if (yaml.size() > kMaxYamlBytes) {
    return absl::InvalidArgumentError(
        fmt::format("the job file is {} bytes; the limit is {}", yaml.size(), kMaxYamlBytes));
  }
  if (NestingBound(yaml) > kMaxNesting) {
    return absl::InvalidArgumentError(
        fmt::format("the job file nests deeper than {} levels", kMaxNesting));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(
        fmt::format("the job file is not valid YAML: line {}, column {}: {}", error.mark.line + 1,
                    error.mark.column + 1, error.msg));
  }
  if (!root.IsMap()) return absl::InvalidArgumentError("a job file is a mapping of job fields");
  size_t budget = 2 * kMaxYamlBytes;
  ASSIGN_OR_RETURN(json object, ToJsonNode(root, budget));
  RETURN_IF_ERROR(TypeYamlScalars(object));
  return JobSpecFromJson(object);
}

}  // namespace loch::etl
