#include "catalog/model.h"

#include <algorithm>

#include "fmt/format.h"

namespace loch {

absl::Status ValidateIdentifier(std::string_view name, std::string_view what) {
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("invalid {} name \"{}\": {} (use lowercase letters, digits and '_', not "
                    "starting with a digit)",
                    what, name, why));
  };
  if (name.empty()) return invalid("it is empty");
  if (name.size() > 64) return invalid("it is longer than 64 characters");
  if (name[0] >= '0' && name[0] <= '9') return invalid("it starts with a digit");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return invalid(fmt::format("'{}' is not allowed", c));
  }
  if (what == "database") {
    for (std::string_view reserved :
         {"main", "temp", "system", "pg_catalog", "information_schema"}) {
      if (name == reserved) return invalid("it is reserved by the query engine");
    }
    if (name == "loch") return invalid("it holds loch's system tables (loch.query_history)");
  }
  return absl::OkStatus();
}

absl::StatusOr<TableName> TableName::Parse(std::string_view given) {
  std::string text(given);
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  size_t dot = text.find('.');
  if (dot == std::string_view::npos || text.find('.', dot + 1) != std::string_view::npos) {
    return absl::InvalidArgumentError(
        fmt::format("table name \"{}\" must have the form DATABASE.TABLE, e.g. shop.orders", text));
  }
  TableName name{std::string(text.substr(0, dot)), std::string(text.substr(dot + 1))};
  RETURN_IF_ERROR(ValidateIdentifier(name.database, "database"));
  RETURN_IF_ERROR(ValidateIdentifier(name.table, "table"));
  return name;
}

std::vector<std::string> Column::FileNames() const {
  std::vector<std::string> names = {name};
  auto former = metadata.find("file_names");
  if (former == metadata.end() || !former->is_array()) return names;
  for (const nlohmann::json& other : *former) {
    if (other.is_string() &&
        std::find(names.begin(), names.end(), other.get<std::string>()) == names.end())
      names.push_back(other.get<std::string>());
  }
  return names;
}

const Column* Schema::Find(std::string_view name) const {
  for (const auto* list : {&columns, &partition_columns}) {
    for (const Column& column : *list) {
      if (column.name == name) return &column;
    }
  }
  return nullptr;
}

}  // namespace loch
