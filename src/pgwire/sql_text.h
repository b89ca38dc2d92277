#pragma once
// Lexical helpers for the SQL text clients send over pgwire: statement splitting, counting
// parameter placeholders ($1, $2, ...; their values are bound through DuckDB, never put into the
// text) and error positions. They understand PostgreSQL's lexical structure
// well enough not to be fooled by quotes and comments: 'strings' (with '' escapes), "identifiers",
// $tag$dollar-quoted$tag$ strings, -- line comments and nested /* block comments */.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace loch::pg {

// Splits a simple-query string into statements at top-level semicolons. Statements are trimmed;
// empty ones (";;", trailing ";") are dropped.
std::vector<std::string> SplitStatements(std::string_view sql);

// The highest placeholder number ($n) in `sql`, 0 if none.
int CountParameters(std::string_view sql);

// The first `count` keywords of `sql`, upper-cased, skipping leading space, comments and "(".
std::vector<std::string> LeadingKeywords(std::string_view sql, size_t count);

// A 1-based character position in `sql` for an error message carrying "(line L, column C)";
// nullopt if the message has none.
std::optional<int> ErrorPosition(std::string_view sql, std::string_view message);

}  // namespace loch::pg
