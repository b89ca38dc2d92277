#include "engine/query_parameters.h"

#include <cerrno>
#include <cstdlib>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

bool IsIntegerType(const std::string& type) {
  return type == "TINYINT" || type == "SMALLINT" || type == "INTEGER" || type == "BIGINT";
}

std::optional<bool> ParseBoolean(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text == "t" || text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "f" || text == "false" || text == "0" || text == "no" || text == "off") return false;
  return std::nullopt;
}

std::optional<double> ParseDouble(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE) return std::nullopt;
  return value;
}

absl::Status BindOne(duck::PreparedStatement& statement, size_t index,
                     const QueryParameter& parameter) {
  if (!parameter.value.has_value()) return statement.BindNull(index);
  const std::string& text = *parameter.value;
  auto wrong = [&] {
    return absl::InvalidArgumentError(fmt::format("parameter ${}: \"{}\" is not a valid {}", index,
                                                  text.substr(0, 64), parameter.type));
  };
  if (IsIntegerType(parameter.type)) {
    // As PostgreSQL reads an integer: surrounding spaces and a leading '+' are fine.
    std::string_view digits = text;
    while (!digits.empty() && std::isspace(static_cast<unsigned char>(digits.front())))
      digits.remove_prefix(1);
    while (!digits.empty() && std::isspace(static_cast<unsigned char>(digits.back())))
      digits.remove_suffix(1);
    if (digits.starts_with('+')) digits.remove_prefix(1);
    const std::optional<int64_t> value = ParseInteger(digits);
    if (!value) return wrong();
    return statement.Bind(index, *value);
  }
  if (parameter.type == "DOUBLE" || parameter.type == "FLOAT") {
    const std::optional<double> value = ParseDouble(text);
    if (!value) return wrong();
    return statement.Bind(index, *value);
  }
  if (parameter.type == "BOOLEAN") {
    const std::optional<bool> value = ParseBoolean(text);
    if (!value) return wrong();
    return statement.BindBool(index, *value);
  }
  return statement.Bind(index, std::string_view(text));
}

}  // namespace

absl::Status BindParameters(duck::PreparedStatement& statement,
                            const std::vector<QueryParameter>& parameters) {
  if (statement.parameter_count() != parameters.size()) {
    return absl::InvalidArgumentError(
        fmt::format("the statement has {} parameter(s) ($1, $2, ...) but {} value(s) were given",
                    statement.parameter_count(), parameters.size()));
  }
  for (size_t i = 0; i < parameters.size(); ++i) {
    RETURN_IF_ERROR(BindOne(statement, i + 1, parameters[i]));
  }
  return absl::OkStatus();
}

}  // namespace loch
