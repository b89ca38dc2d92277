#pragma once
// Small string helpers on std::string_view.
//
// Debian's Abseil is built with its own absl::string_view (not std::string_view), so absl's string
// utilities do not accept std::string_view; loch uses fmt for formatting and these helpers instead.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/status.h"

namespace loch {

// Splits `text` at every `separator`; "a//b" gives {"a", "", "b"}, "" gives {""}.
std::vector<std::string_view> Split(std::string_view text, char separator);

// Joins `parts` with `separator` between them.
std::string Join(const std::vector<std::string>& parts, std::string_view separator);

// Converts Abseil's string_view (e.g. absl::Status::message()) to the standard one.
inline std::string_view ToStd(absl::string_view view) { return {view.data(), view.size()}; }

// A period written as a whole number and a unit (d, h, m, s), e.g. 7d, 36h, 90m, 0s, in
// microseconds. InvalidArgument naming `what` ("retention") and the text otherwise.
absl::StatusOr<int64_t> ParseDurationMicros(std::string_view text, std::string_view what);

// A size as DuckDB reads its memory_limit, in bytes: up to 9 digits, an optional fraction of up
// to 3, an optional space and a unit, case ignored: KB, MB, GB, TB (powers of 1000) or KiB, MiB,
// GiB, TiB (powers of 1024); e.g. "512MB", "1.5 GiB". nullopt for anything else. Never throws.
std::optional<int64_t> ParseByteSize(std::string_view text);

// `text` as a decimal integer in [min, max]: digits with an optional leading '-', nothing else.
// nullopt for anything else (empty, signs, spaces, overflow). Never throws: safe on any input.
std::optional<int64_t> ParseInteger(std::string_view text, int64_t min = INT64_MIN,
                                    int64_t max = INT64_MAX);

// True if `a` and `b` are equal ignoring ASCII case (as SQL identifiers compare).
bool EqualsIgnoringCase(std::string_view a, std::string_view b);

// Quotes `identifier` for SQL: "name" with inner quotes doubled.
std::string QuoteIdentifier(std::string_view identifier);

// The candidate `word` most likely misspells, for "did you mean ...?": the one fewest edits away
// (insertions, deletions, substitutions, case ignored), if that is at most a third of the word's
// length (and at least 1); the earliest on ties. nullopt when none is close or `word` is one of
// them.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

// Quotes `text` as a SQL string literal: 'text' with inner quotes doubled.
std::string QuoteLiteral(std::string_view text);

// `text` with ASCII letters in lower case (column names compare ignoring case).
std::string AsciiLower(std::string_view text);

// "1,234,567"
std::string WithThousands(int64_t value);
// "1.5 MB" (decimal units)
std::string HumanBytes(int64_t bytes);

}  // namespace loch
