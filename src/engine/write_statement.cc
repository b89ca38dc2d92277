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
  return TableName::Parse(std::string(database) + "." + std::string(table));
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
  // An identifier: a word folded to lowercase, or a "quoted" name as written ("" doubles a quote);
  // nullopt if neither comes next.
  std::optional<std::string> Identifier() {
    Skip();
    if (!rest_.empty() && rest_.front() == '"') {
      std::optional<std::string> quoted = QuotedBy('"');
      return quoted;
    }
    std::optional<std::string_view> word = Word();
    if (!word) return std::nullopt;
    std::string folded(*word);
    for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return folded;
  }
  // A 'string literal' ('' doubles a quote), or nullopt.
  std::optional<std::string> StringLiteral() {
    Skip();
    if (rest_.empty() || rest_.front() != '\'') return std::nullopt;
    return QuotedBy('\'');
  }
  // db.name
  std::optional<std::pair<std::string, std::string>> QualifiedName() {
    auto database = Identifier();
    if (!database || !Punct('.')) return std::nullopt;
    auto name = Identifier();
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
  // The text between `quote` and its closing match (a doubled quote is one), consumed; nullopt
  // (consuming nothing) if it does not close.
  std::optional<std::string> QuotedBy(char quote) {
    std::string text;
    for (size_t i = 1; i < rest_.size(); ++i) {
      if (rest_[i] != quote) {
        text.push_back(rest_[i]);
      } else if (i + 1 < rest_.size() && rest_[i + 1] == quote) {
        text.push_back(quote);
        ++i;
      } else {
        rest_.remove_prefix(i + 1);
        return text;
      }
    }
    return std::nullopt;
  }
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
        auto column = cursor.StringLiteral();
        if (!column) break;
        statement.partitioned_by.push_back(std::move(*column));
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

// After CREATE {DATABASE | SCHEMA}.
absl::StatusOr<WriteStatement> ParseCreateDatabase(Cursor& cursor) {
  WriteStatement statement;
  statement.kind = WriteStatement::Kind::kCreateDatabase;
  if (cursor.Keyword("IF")) {
    if (!cursor.Keyword("NOT") || !cursor.Keyword("EXISTS"))
      return absl::InvalidArgumentError("expected CREATE DATABASE [IF NOT EXISTS] name");
    statement.if_not_exists = true;
  }
  auto name = cursor.Identifier();
  if (!name || !cursor.AtEnd())
    return absl::InvalidArgumentError("expected CREATE DATABASE [IF NOT EXISTS] name");
  // Database names are lowercase: a "Quoted" one folds too (as TableName::Parse does).
  for (char& c : *name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  RETURN_IF_ERROR(ValidateIdentifier(*name, "database"));
  statement.table.database = *name;
  return statement;
}

// After COMMENT ON.
absl::StatusOr<WriteStatement> ParseComment(Cursor& cursor) {
  const auto malformed = absl::InvalidArgumentError(
      "expected COMMENT ON TABLE db.table IS 'text' or COMMENT ON COLUMN db.table.column IS "
      "'text' (IS NULL removes the comment)");
  WriteStatement statement;
  const bool table = cursor.Keyword("TABLE");
  if (!table && !cursor.Keyword("COLUMN")) return malformed;
  statement.kind =
      table ? WriteStatement::Kind::kCommentOnTable : WriteStatement::Kind::kCommentOnColumn;
  auto name = cursor.QualifiedName();
  if (!name) return malformed;
  ASSIGN_OR_RETURN(statement.table, Name(name->first, name->second));
  if (!table) {
    if (!cursor.Punct('.')) return malformed;
    auto column = cursor.Identifier();
    if (!column) return malformed;
    statement.column = std::move(*column);
  }
  if (!cursor.Keyword("IS")) return malformed;
  if (!cursor.Keyword("NULL")) {
    auto text = cursor.StringLiteral();
    if (!text) return malformed;
    statement.comment = std::move(*text);
  }
  if (!cursor.AtEnd()) return malformed;
  return statement;
}

// After ALTER TABLE.
absl::StatusOr<WriteStatement> ParseAlterTable(Cursor& cursor) {
  const auto malformed = absl::InvalidArgumentError(
      "ALTER TABLE runs RENAME TO [db.]new_name and RENAME COLUMN column TO new_name; expected "
      "ALTER TABLE [IF EXISTS] db.table RENAME ...");
  WriteStatement statement;
  if (cursor.Keyword("IF")) {
    if (!cursor.Keyword("EXISTS")) return malformed;
    statement.if_exists = true;
  }
  auto name = cursor.QualifiedName();
  if (!name || !cursor.Keyword("RENAME")) return malformed;
  ASSIGN_OR_RETURN(statement.table, Name(name->first, name->second));
  if (cursor.Keyword("TO")) {
    statement.kind = WriteStatement::Kind::kRenameTable;
    auto first = cursor.Identifier();
    if (!first) return malformed;
    if (cursor.Punct('.')) {
      auto second = cursor.Identifier();
      if (!second) return malformed;
      ASSIGN_OR_RETURN(statement.new_table, Name(*first, *second));
    } else {
      ASSIGN_OR_RETURN(statement.new_table, Name(statement.table.database, *first));
    }
  } else {
    statement.kind = WriteStatement::Kind::kRenameColumn;
    cursor.Keyword("COLUMN");
    auto column = cursor.Identifier();
    if (!column || !cursor.Keyword("TO")) return malformed;
    auto new_column = cursor.Identifier();
    if (!new_column) return malformed;
    statement.column = std::move(*column);
    statement.new_column = std::move(*new_column);
    if (statement.new_column.empty())
      return absl::InvalidArgumentError("a column's new name cannot be empty");
  }
  if (!cursor.AtEnd()) return malformed;
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
    if (cursor.Keyword("DATABASE") || cursor.Keyword("SCHEMA")) {
      ASSIGN_OR_RETURN(statement, ParseCreateDatabase(cursor));
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
  if (cursor.Keyword("COMMENT")) {
    if (!cursor.Keyword("ON")) return std::optional<WriteStatement>();
    ASSIGN_OR_RETURN(statement, ParseComment(cursor));
    return std::optional<WriteStatement>(std::move(statement));
  }
  if (cursor.Keyword("ALTER")) {
    if (!cursor.Keyword("TABLE")) return std::optional<WriteStatement>();
    ASSIGN_OR_RETURN(statement, ParseAlterTable(cursor));
    return std::optional<WriteStatement>(std::move(statement));
  }
  return std::optional<WriteStatement>();
}

}  // namespace loch
