#include "pgwire/sql_text.h"

#include <cctype>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch::pg {
namespace {

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

// Walks `sql` and calls on_code(i) for every character that is code (not inside a string, quoted
// identifier or comment). on_code returns how many characters it consumed (0: just this one).
template <typename OnCode>
void ScanCode(std::string_view sql, OnCode on_code) {
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      size_t j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) {
            j += 2;  // doubled quote inside
            continue;
          }
          break;
        }
        ++j;
      }
      i = j + 1;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      int depth = 1;
      i += 2;
      while (i < sql.size() && depth > 0) {
        if (sql.compare(i, 2, "/*") == 0) {
          ++depth;
          i += 2;
        } else if (sql.compare(i, 2, "*/") == 0) {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
    } else if (c == '$' && (i == 0 || !IsIdentifierChar(sql[i - 1])) && i + 1 < sql.size() &&
               !std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      // $tag$ ... $tag$ (tag may be empty)
      size_t tag_end = i + 1;
      while (tag_end < sql.size() && sql[tag_end] != '$' &&
             (std::isalnum(static_cast<unsigned char>(sql[tag_end])) || sql[tag_end] == '_')) {
        ++tag_end;
      }
      if (tag_end < sql.size() && sql[tag_end] == '$') {
        const std::string_view tag = sql.substr(i, tag_end - i + 1);
        const size_t close = sql.find(tag, tag_end + 1);
        i = close == std::string_view::npos ? sql.size() : close + tag.size();
      } else {
        const size_t consumed = on_code(i);
        i += consumed > 0 ? consumed : 1;
      }
    } else {
      const size_t consumed = on_code(i);
      i += consumed > 0 ? consumed : 1;
    }
  }
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// If a placeholder $n starts at `at` (not part of an identifier), its number and length.
std::optional<std::pair<int, size_t>> PlaceholderAt(std::string_view sql, size_t at) {
  if (sql[at] != '$' || (at > 0 && IsIdentifierChar(sql[at - 1]))) return std::nullopt;
  size_t end = at + 1;
  int number = 0;
  while (end < sql.size() && std::isdigit(static_cast<unsigned char>(sql[end]))) {
    if (number > 100000) return std::nullopt;
    number = number * 10 + (sql[end] - '0');
    ++end;
  }
  if (end == at + 1) return std::nullopt;
  return std::make_pair(number, end - at);
}

}  // namespace

std::vector<std::string> SplitStatements(std::string_view sql) {
  std::vector<std::string> statements;
  size_t start = 0;
  ScanCode(sql, [&](size_t i) -> size_t {
    if (sql[i] == ';') {
      const std::string_view statement = Trim(sql.substr(start, i - start));
      if (!statement.empty()) statements.emplace_back(statement);
      start = i + 1;
    }
    return 0;
  });
  const std::string_view last = Trim(sql.substr(std::min(start, sql.size())));
  if (!last.empty()) statements.emplace_back(last);
  return statements;
}

int CountParameters(std::string_view sql) {
  int highest = 0;
  ScanCode(sql, [&](size_t i) -> size_t {
    const auto placeholder = PlaceholderAt(sql, i);
    if (!placeholder) return 0;
    highest = std::max(highest, placeholder->first);
    return placeholder->second;
  });
  return highest;
}

std::vector<std::string> LeadingKeywords(std::string_view sql, size_t count) {
  std::vector<std::string> words;
  bool stop = false;
  ScanCode(sql, [&](size_t i) -> size_t {
    if (stop || words.size() >= count) return sql.size();
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == '(') return 0;
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '_') {
      stop = true;
      return 0;
    }
    size_t end = i;
    std::string word;
    while (end < sql.size() &&
           (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) {
      word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(sql[end]))));
      ++end;
    }
    words.push_back(std::move(word));
    return end - i;
  });
  return words;
}

std::optional<int> ErrorPosition(std::string_view sql, std::string_view message) {
  // The engine's messages end a line with "(line L, column C)" (duck::ErrorToStatus, SqlGuard).
  // The message may quote the user's text, so only the last mark that ends a line counts, and
  // its numbers must lie within the statement itself.
  constexpr std::string_view kLine = "(line ", kColumn = ", column ";
  // (A mark is short: "(line 2147483647, column 2147483647)". Looking no further keeps this
  // linear however many "(line " a message quotes.)
  constexpr size_t kMaxMark = 48;
  size_t at = message.rfind(kLine);
  size_t close = std::string_view::npos;
  while (at != std::string_view::npos) {
    const size_t found = message.substr(at, kMaxMark).find(')');
    if (found != std::string_view::npos &&
        (at + found + 1 == message.size() || message[at + found + 1] == '\n')) {
      close = at + found;
      break;
    }
    at = at == 0 ? std::string_view::npos : message.rfind(kLine, at - 1);
  }
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view mark = message.substr(at, close - at);
  const size_t comma = mark.find(kColumn);
  if (comma == std::string_view::npos) return std::nullopt;
  const int64_t limit = static_cast<int64_t>(sql.size()) + 1;
  const auto line = ParseInteger(mark.substr(kLine.size(), comma - kLine.size()), 1, limit);
  const auto column = ParseInteger(mark.substr(comma + kColumn.size()), 1, limit);
  if (!line || !column) return std::nullopt;
  size_t offset = 0;
  for (int64_t l = 1; l < *line; ++l) {
    const size_t newline = sql.find('\n', offset);
    if (newline == std::string_view::npos) return std::nullopt;
    offset = newline + 1;
  }
  // PostgreSQL counts characters, not bytes: count UTF-8 lead bytes up to the column.
  int position = 0;
  for (size_t i = 0; i < offset; ++i) {
    if ((static_cast<unsigned char>(sql[i]) & 0xC0) != 0x80) ++position;
  }
  return position + static_cast<int>(*column);
}

}  // namespace loch::pg
