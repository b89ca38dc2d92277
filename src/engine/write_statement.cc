#include "engine/write_statement.h"

#include <regex>

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

absl::StatusOr<TableName> Name(const std::string& database, const std::string& table) {
  std::string db = database, t = table;
  for (char& c : db) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return TableName::Parse(db + "." + t);
}

}  // namespace

absl::StatusOr<std::optional<WriteStatement>> ParseWriteStatement(std::string_view sql_in) {
  const std::string sql(SkipLeadingNoise(sql_in));
  using std::regex_constants::icase;
  static const std::regex kCreateStart(R"(^CREATE\s+TABLE\b)", icase);
  static const std::regex kInsertStart(R"(^INSERT\s+INTO\b)", icase);
  static const std::regex kDropStart(R"(^DROP\s+TABLE\b)", icase);
  static const std::regex kCreate(
      R"(^CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(\w+)\.(\w+)\s*(WITH\s*\(\s*partitioned_by\s*=\s*ARRAY\s*\[([^\]]*)\]\s*\)\s*)?AS\s+([\s\S]+)$)",
      icase);
  static const std::regex kInsert(R"(^INSERT\s+INTO\s+(\w+)\.(\w+)\s+([\s\S]+)$)", icase);
  static const std::regex kDrop(R"(^DROP\s+TABLE\s+(IF\s+EXISTS\s+)?(\w+)\.(\w+)\s*;?\s*$)", icase);
  static const std::regex kCreateViewStart(R"(^CREATE\s+(OR\s+REPLACE\s+)?VIEW\b)", icase);
  static const std::regex kCreateView(
      R"(^CREATE\s+(OR\s+REPLACE\s+)?VIEW\s+(\w+)\.(\w+)\s+AS\s+([\s\S]+)$)", icase);
  static const std::regex kDropViewStart(R"(^DROP\s+VIEW\b)", icase);
  static const std::regex kDropView(R"(^DROP\s+VIEW\s+(IF\s+EXISTS\s+)?(\w+)\.(\w+)\s*;?\s*$)",
                                    icase);
  std::smatch match;
  WriteStatement statement;
  if (std::regex_search(sql, kCreateStart)) {
    if (!std::regex_match(sql, match, kCreate)) {
      return absl::InvalidArgumentError(
          "expected CREATE TABLE db.table [WITH (partitioned_by = ARRAY['column', ...])] AS SELECT "
          "...");
    }
    statement.kind = WriteStatement::Kind::kCreateTableAs;
    statement.if_not_exists = match[1].matched;
    ASSIGN_OR_RETURN(statement.table, Name(match[2], match[3]));
    if (match[5].matched) {
      static const std::regex kQuoted(R"('([^']*)')");
      const std::string list = match[5];
      for (auto it = std::sregex_iterator(list.begin(), list.end(), kQuoted);
           it != std::sregex_iterator(); ++it) {
        statement.partitioned_by.push_back((*it)[1]);
      }
      if (statement.partitioned_by.empty()) {
        return absl::InvalidArgumentError(
            "partitioned_by needs quoted column names, e.g. ARRAY['day']");
      }
    }
    statement.query = match[6];
  } else if (std::regex_search(sql, kInsertStart)) {
    if (!std::regex_match(sql, match, kInsert)) {
      return absl::InvalidArgumentError("expected INSERT INTO db.table SELECT ...");
    }
    statement.kind = WriteStatement::Kind::kInsertInto;
    ASSIGN_OR_RETURN(statement.table, Name(match[1], match[2]));
    statement.query = match[3];
  } else if (std::regex_search(sql, kDropStart)) {
    if (!std::regex_match(sql, match, kDrop))
      return absl::InvalidArgumentError("expected DROP TABLE [IF EXISTS] db.table");
    statement.kind = WriteStatement::Kind::kDropTable;
    statement.if_exists = match[1].matched;
    ASSIGN_OR_RETURN(statement.table, Name(match[2], match[3]));
  } else if (std::regex_search(sql, kCreateViewStart)) {
    if (!std::regex_match(sql, match, kCreateView)) {
      return absl::InvalidArgumentError("expected CREATE [OR REPLACE] VIEW db.view AS SELECT ...");
    }
    statement.kind = WriteStatement::Kind::kCreateView;
    statement.or_replace = match[1].matched;
    ASSIGN_OR_RETURN(statement.table, Name(match[2], match[3]));
    statement.query = match[4];
  } else if (std::regex_search(sql, kDropViewStart)) {
    if (!std::regex_match(sql, match, kDropView)) {
      return absl::InvalidArgumentError("expected DROP VIEW [IF EXISTS] db.view");
    }
    statement.kind = WriteStatement::Kind::kDropView;
    statement.if_exists = match[1].matched;
    ASSIGN_OR_RETURN(statement.table, Name(match[2], match[3]));
  } else {
    return std::optional<WriteStatement>();
  }
  return std::optional<WriteStatement>(std::move(statement));
}

}  // namespace loch
