#include "etl/job_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

using nlohmann::json;

const std::vector<std::string> kFields = {"name",        "sql",          "target",  "mode",
                                          "keys",        "partition_by", "sort_by", "file_size_mib",
                                          "incremental", "description"};

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
  if (auto it = object.find("incremental"); it != object.end() && it->is_string()) {
    const std::string text = it->get<std::string>();
    if (text != "true" && text != "false")
      return FieldError("incremental", "must be true or false");
    *it = text == "true";
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
  }
  return "append";
}

absl::StatusOr<WriteMode> ParseMode(std::string_view name) {
  if (name == "append") return WriteMode::kAppend;
  if (name == "replace-partitions") return WriteMode::kReplacePartitions;
  if (name == "merge") return WriteMode::kMerge;
  if (name == "history") return WriteMode::kHistory;
  if (name == "rollup") {
    return absl::UnimplementedError(
        "mode rollup is not available yet; the modes are append, replace-partitions, merge and "
        "history");
  }
  return absl::InvalidArgumentError(fmt::format(
      "unknown mode \"{}\"; the modes are append, replace-partitions, merge and history", name));
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
  ASSIGN_OR_RETURN(spec.description, Text(object, "description", false));
  return spec;
}

json ToJson(const JobSpec& spec) {
  return json{{"name", spec.name},
              {"sql", spec.sql},
              {"target", spec.target.ToString()},
              {"mode", ModeName(spec.mode)},
              {"keys", spec.keys},
              {"partition_by", spec.partition_by},
              {"sort_by", spec.sort_by},
              {"file_size_mib", spec.file_size_mib},
              {"incremental", spec.incremental},
              {"description", spec.description}};
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
