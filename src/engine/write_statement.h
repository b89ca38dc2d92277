#pragma once
// The statements that change the lake, recognised before anything reaches DuckDB:
//   CREATE TABLE [IF NOT EXISTS] db.t [WITH (partitioned_by = ARRAY['col', ...])] AS <query>
//   INSERT INTO db.t <query>
//   DROP TABLE [IF EXISTS] db.t [CASCADE] [PURGE]
//   CREATE [OR REPLACE] VIEW db.v AS <query>
//   DROP VIEW [IF EXISTS] db.v [CASCADE]
//   CREATE {DATABASE | SCHEMA} [IF NOT EXISTS] db
//   COMMENT ON TABLE db.t IS {'text' | NULL}
//   COMMENT ON COLUMN db.t.c IS {'text' | NULL}
//   ALTER TABLE [IF EXISTS] db.t RENAME TO [db2.]t2
//   ALTER TABLE [IF EXISTS] db.t RENAME COLUMN c TO c2
// <query> is then checked like any user query (SqlGuard). Everything else is not a write statement.
// Unquoted names fold to lowercase (as in PostgreSQL); "quoted" names are taken as written.

#include <optional>
#include <string>
#include <vector>

#include "catalog/model.h"
#include "common/status.h"

namespace loch {

struct WriteStatement {
  enum class Kind {
    kCreateTableAs,
    kInsertInto,
    kDropTable,
    kCreateView,
    kDropView,
    kCreateDatabase,
    kCommentOnTable,
    kCommentOnColumn,
    kRenameTable,
    kRenameColumn,
  };
  Kind kind;
  TableName table;         // the table or view (CREATE DATABASE: only its database is set)
  std::string column;      // COMMENT ON COLUMN, RENAME COLUMN: the column
  std::string new_column;  // RENAME COLUMN: its new name
  std::optional<TableName> new_table;  // RENAME TO: the new name
  std::string comment;                 // COMMENT ON: the text ("" for NULL: no comment)
  bool or_replace = false;             // CREATE OR REPLACE VIEW
  bool if_exists = false;              // DROP ... IF EXISTS, ALTER TABLE IF EXISTS
  bool if_not_exists = false;          // CREATE TABLE / DATABASE IF NOT EXISTS
  bool cascade = false;                // DROP ... CASCADE: also drop the views that read it
  bool purge = false;  // DROP TABLE ... PURGE: also delete the files only it has had
  std::vector<std::string> partitioned_by;
  std::string query;  // the SELECT of CREATE TABLE AS / INSERT INTO / CREATE VIEW
};

// The statement's first word, upper-cased ("EXPLAIN", "UPDATE"), after whitespace and comments;
// "" if it does not start with a word.
std::string LeadingKeyword(std::string_view sql);
// What follows that first word.
std::string_view AfterLeadingKeyword(std::string_view sql);

// nullopt if `sql` is not one of the statements above; InvalidArgument if it starts like one but is
// malformed (the message says what was expected).
absl::StatusOr<std::optional<WriteStatement>> ParseWriteStatement(std::string_view sql);

}  // namespace loch
