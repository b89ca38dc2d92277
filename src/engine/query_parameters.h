#pragma once
// Values for a statement's placeholders ($1, $2, ...), bound through DuckDB's prepared statements:
// a client's values never become SQL text.

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/duck.h"

namespace loch {

struct QueryParameter {
  std::optional<std::string> value;  // as the client sent it, in text form; nullopt: NULL
  // The DuckDB type the client declared ("BIGINT", "DOUBLE", "BOOLEAN", ...); "" when it did not:
  // DuckDB then casts the text to the type the placeholder needs (the column it is compared with).
  std::string type;
};

// Binds `parameters` to `statement`'s placeholders in order. InvalidArgument if their number is not
// the statement's, or a value does not read as its declared type (naming the placeholder).
absl::Status BindParameters(duck::PreparedStatement& statement,
                            const std::vector<QueryParameter>& parameters);

}  // namespace loch
