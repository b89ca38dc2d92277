#include "common/strings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "fmt/format.h"

namespace loch {

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

namespace {
std::string QuoteWith(std::string_view text, char quote) {
  std::string out(1, quote);
  for (char c : text) {
    if (c == quote) out += quote;
    out += c;
  }
  out += quote;
  return out;
}
}  // namespace

std::string QuoteIdentifier(std::string_view identifier) { return QuoteWith(identifier, '"'); }
std::string QuoteLiteral(std::string_view text) { return QuoteWith(text, '\''); }

std::string AsciiLower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

std::optional<int64_t> ParseInteger(std::string_view text, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

namespace {

// Edits between `a` and `b`, case ignored, or more than `limit` (then limit + 1): one row of the
// classic table at a time, so memory is linear and long inputs stop early.
size_t EditDistance(std::string_view a, std::string_view b, size_t limit) {
  if (a.size() > b.size() + limit || b.size() > a.size() + limit) return limit + 1;
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    size_t best = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
      best = std::min(best, row[j]);
    }
    if (best > limit) return limit + 1;
  }
  return row[b.size()];
}

}  // namespace

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  constexpr size_t kMaxWord = 256;  // names, not documents
  if (word.empty() || word.size() > kMaxWord) return std::nullopt;
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    if (candidate.size() > kMaxWord) continue;
    const size_t distance = EditDistance(word, candidate, limit);
    if (distance == 0) return std::nullopt;
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string WithThousands(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

}  // namespace loch

namespace loch {

absl::StatusOr<int64_t> ParseDurationMicros(std::string_view text, std::string_view what) {
  static constexpr std::pair<char, int64_t> kUnits[] = {{'d', int64_t{86400} * 1000000},
                                                        {'h', int64_t{3600} * 1000000},
                                                        {'m', int64_t{60} * 1000000},
                                                        {'s', int64_t{1000000}}};
  const auto bad = [&] {
    return absl::InvalidArgumentError(fmt::format(
        "invalid {} \"{}\": expected a whole number and a unit, like 7d, 36h, 90m or 0s", what,
        text));
  };
  if (text.size() < 2) return bad();
  const auto unit = std::find_if(std::begin(kUnits), std::end(kUnits),
                                 [&](const auto& u) { return u.first == text.back(); });
  if (unit == std::end(kUnits)) return bad();
  const int64_t max = INT64_MAX / unit->second;
  const std::optional<int64_t> count = ParseInteger(text.substr(0, text.size() - 1), 0, max);
  if (!count.has_value()) return bad();
  return *count * unit->second;
}

std::optional<int64_t> ParseByteSize(std::string_view text) {
  const auto digits = [&](size_t from) {
    size_t end = from;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    return end - from;
  };
  const size_t whole = digits(0);
  if (whole == 0 || whole > 9) return std::nullopt;
  size_t at = whole;
  size_t fraction = 0;
  if (at < text.size() && text[at] == '.') {
    fraction = digits(at + 1);
    if (fraction == 0 || fraction > 3) return std::nullopt;
    at += 1 + fraction;
  }
  if (at < text.size() && text[at] == ' ') ++at;
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {{"kb", 1000},
                                                                    {"mb", 1000 * 1000},
                                                                    {"gb", 1000 * 1000 * 1000},
                                                                    {"tb", 1000000000000},
                                                                    {"kib", int64_t{1} << 10},
                                                                    {"mib", int64_t{1} << 20},
                                                                    {"gib", int64_t{1} << 30},
                                                                    {"tib", int64_t{1} << 40}};
  const auto unit = std::find_if(std::begin(kUnits), std::end(kUnits), [&](const auto& u) {
    return EqualsIgnoringCase(text.substr(at), u.first);
  });
  if (unit == std::end(kUnits)) return std::nullopt;
  // At most 999,999,999.999 TiB: fits in 128 bits, and the answer must fit in 63.
  const __int128 thousandths =
      static_cast<__int128>(*ParseInteger(text.substr(0, whole))) * 1000 +
      (fraction == 0 ? 0
                     : *ParseInteger(text.substr(whole + 1, fraction)) * (fraction == 1   ? 100
                                                                          : fraction == 2 ? 10
                                                                                          : 1));
  const __int128 bytes = thousandths * unit->second / 1000;
  if (bytes > INT64_MAX) return std::nullopt;
  return static_cast<int64_t>(bytes);
}

}  // namespace loch
