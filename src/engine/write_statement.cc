#include "engine/write_statement.h"

#include <cctype>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

// Drops leading whitespace and `--` / `/* */` comments.
std::string_view SkipLeadingNoise(std::string_view sql) {
  while (true) {
    while (!sql.empty() && std::isspace(static_cast<unsigned char>(sql.front())))
      sql.remove_prefix(1);
    if (sql.starts_with("--")) {
      const size_t end = sql.find('\n');
      sql.remove_prefix(end == std::string_view::npos ? sql.size() : end + 1);
    } else if (sql.starts_with("/*")) {
      const size_t end = sql.find("*/");
      sql.remove_prefix(end == std::string_view::npos ? sql.size() : end + 2);
    } else {
      return sql;
    }
  }
}

absl::StatusOr<TableName> Name(std::string_view database, std::string_view table) {
  std::string name = std::string(database) + "." + std::string(table);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return TableName::Parse(name);
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Reads the head of a write statement token by token: linear in the input, no recursion (user SQL
// can be megabytes long; std::regex recurses per character).
class Cursor {
 public:
  explicit Cursor(std::string_view text) : rest_(text) {}

  // Consumes `word` (case-insensitively) if it comes next as a whole word.
  bool Keyword(std::string_view word) {
    Skip();
    if (rest_.size() < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(rest_[i])) != word[i]) return false;
    }
    if (rest_.size() > word.size() && IsWordChar(rest_[word.size()])) return false;
    rest_.remove_prefix(word.size());
    return true;
  }
  // Consumes `c` if it comes next.
  bool Punct(char c) {
    Skip();
    if (rest_.empty() || rest_.front() != c) return false;
    rest_.remove_prefix(1);
    return true;
  }
  // A word (letters, digits, '_'), or nullopt.
  std::optional<std::string_view> Word() {
    Skip();
    size_t n = 0;
    while (n < rest_.size() && IsWordChar(rest_[n])) ++n;
    if (n == 0) return std::nullopt;
    std::string_view word = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return word;
  }
  // A 'quoted' string without escapes, or nullopt.
  std::optional<std::string_view> Quoted() {
    Skip();
    if (rest_.empty() || rest_.front() != '\'') return std::nullopt;
    const size_t close = rest_.find('\'', 1);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view text = rest_.substr(1, close - 1);
    rest_.remove_prefix(close + 1);
    return text;
  }
  // db.name
  std::optional<std::pair<std::string_view, std::string_view>> QualifiedName() {
    auto database = Word();
    if (!database || !Punct('.')) return std::nullopt;
    auto name = Word();
    if (!name) return std::nullopt;
    return std::make_pair(*database, *name);
  }
  // Everything left after leading whitespace.
  std::string_view Rest() {
    Skip();
    return rest_;
  }
  // Only whitespace, comments and at most one ';' are left.
  bool AtEnd() {
    Punct(';');
    Skip();
    return rest_.empty();
  }

 private:
  void Skip() { rest_ = SkipLeadingNoise(rest_); }
  std::string_view rest_;
};

absl::StatusOr<WriteStatement> ParseCreateTableAs(Cursor& cursor) {
  const auto malformed = absl::InvalidArgumentError(
      "expected CREATE TABLE db.table [WITH (partitioned_by = ARRAY['column', ...])] AS SELECT "
      "...");
  WriteStatement statement;
  statement.kind = WriteStatement::Kind::kCreateTableAs;
  if (cursor.Keyword("IF")) {
    if (!cursor.Keyword("NOT") || !cursor.Keyword("EXISTS")) return malformed;
    statement.if_not_exists = true;
  }
  auto name = cursor.QualifiedName();
  if (!name) return malformed;
  ASSIGN_OR_RETURN(statement.table, Name(name->first, name->second));
  if (cursor.Keyword("WITH")) {
    if (!cursor.Punct('(') || !cursor.Keyword("PARTITIONED_BY") || !cursor.Punct('=') ||
        !cursor.Keyword("ARRAY") || !cursor.Punct('[')) {
      return malformed;
    }
    if (!cursor.Punct(']')) {
      do {
        auto column = cursor.Quoted();
        if (!column) break;
        statement.partitioned_by.emplace_back(*column);
      } while (cursor.Punct(','));
      if (statement.partitioned_by.empty() || !cursor.Punct(']')) {
        return absl::InvalidArgumentError(
            "expected quoted column names in partitioned_by, e.g. ARRAY['day']");
      }
    }
    if (statement.partitioned_by.empty()) {
      return absl::InvalidArgumentError(
          "expected quoted column names in partitioned_by, e.g. ARRAY['day']");
    }
    if (!cursor.Punct(')')) return malformed;
  }
  if (!cursor.Keyword("AS") || cursor.Rest().empty()) return malformed;
  statement.query = std::string(cursor.Rest());
  return statement;
}

}  // namespace

std::string LeadingKeyword(std::string_view sql) {
  Cursor cursor(sql);
  std::optional<std::string_view> word = cursor.Word();
  std::string keyword(word.value_or(""));
  for (char& c : keyword) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return keyword;
}

std::string_view AfterLeadingKeyword(std::string_view sql) {
  Cursor cursor(sql);
  cursor.Word();
  return cursor.Rest();
}

absl::StatusOr<std::optional<WriteStatement>> ParseWriteStatement(std::string_view sql) {
  Cursor cursor(sql);
  WriteStatement statement;
  if (cursor.Keyword("CREATE")) {
    if (cursor.Keyword("TABLE")) {
      ASSIGN_OR_RETURN(statement, ParseCreateTableAs(cursor));
      return std::optional<WriteStatement>(std::move(statement));
    }
    bool or_replace = false;
    if (cursor.Keyword("OR")) {
      if (!cursor.Keyword("REPLACE")) return std::optional<WriteStatement>();
      or_replace = true;
    }
    if (!cursor.Keyword("VIEW")) return std::optional<WriteStatement>();
    auto name = cursor.QualifiedName();
    if (!name || !cursor.Keyword("AS") || cursor.Rest().empty()) {
      return absl::InvalidArgumentError("expected CREATE [OR REPLACE] VIEW db.view AS SELECT ...");
    }
    statement.kind = WriteStatement::Kind::kCreateView;
    statement.or_replace = or_replace;
    ASSIGN_OR_RETURN(statement.table, Name(name->first, name->second));
    statement.query = std::string(cursor.Rest());
    return std::optional<WriteStatement>(std::move(statement));
  }
  if (cursor.Keyword("INSERT")) {
    if (!cursor.Keyword("INTO")) return std::optional<WriteStatement>();
    auto name = cursor.QualifiedName();
    if (!name || cursor.Rest().empty()) {
      return absl::InvalidArgumentError("expected INSERT INTO db.table SELECT ...");
    }
    statement.kind = WriteStatement::Kind::kInsertInto;
    ASSIGN_OR_RETURN(statement.table, Name(name->first, name->second));
    statement.query = std::string(cursor.Rest());
    return std::optional<WriteStatement>(std::move(statement));
  }
  if (cursor.Keyword("DROP")) {
    const bool table = cursor.Keyword("TABLE");
    if (!table && !cursor.Keyword("VIEW")) return std::optional<WriteStatement>();
    statement.kind = table ? WriteStatement::Kind::kDropTable : WriteStatement::Kind::kDropView;
    statement.if_exists = cursor.Keyword("IF");
    const bool exists = !statement.if_exists || cursor.Keyword("EXISTS");
    auto name = cursor.QualifiedName();
    statement.cascade = cursor.Keyword("CASCADE");
    statement.purge = table && cursor.Keyword("PURGE");
    if (!exists || !name || !cursor.AtEnd()) {
      return absl::InvalidArgumentError(
          table ? "expected DROP TABLE [IF EXISTS] db.table [CASCADE] [PURGE]"
                : "expected DROP VIEW [IF EXISTS] db.view [CASCADE]");
    }
    ASSIGN_OR_RETURN(statement.table, Name(name->first, name->second));
    return std::optional<WriteStatement>(std::move(statement));
  }
  return std::optional<WriteStatement>();
}

}  // namespace loch
