#pragma once
// One schema policy for every loading path (loch load, crawlers, stream delivery; ETL next): how
// a data file's profile joins a table's schema. Types widen along the lattice (type_lattice.h);
// text is typed the same way everywhere (engine/text_types.h); a value that does not parse reads
// as NULL and keeps its text in the column's raw companion; a column without any value in a file
// (an empty file, a header-only CSV, a key that is always null) does not change the column's
// type; inferred columns are nullable.

#include <string>
#include <vector>

#include "catalog/model.h"
#include "common/status.h"
#include "engine/lake_engine.h"

namespace loch {

struct SchemaChange {
  std::vector<std::string> added;    // "name TYPE": new columns (raw companions included)
  std::vector<std::string> widened;  // "name: OLD -> NEW": existing columns whose type changes
  std::vector<std::string> typed;    // "name TYPE": columns without values so far that got a type
  // "old -> new": raw companions renamed because the files or the partitions now have a column of
  // their name
  std::vector<std::string> renamed;
  bool changed() const {
    return !added.empty() || !widened.empty() || !typed.empty() || !renamed.empty();
  }
  // Adds what a later change did.
  void Include(const SchemaChange& later);
};

// Merges `file_columns` into `schema` (new columns appended in file order, types widened, a
// column of type "NULL" meaning "no values seen") and says what changed. Every column is nullable.
SchemaChange MergeColumns(std::vector<Column>& schema, const std::vector<Column>& file_columns);

// The type of a partition column from its values: BIGINT if all are integers, DATE if all are
// YYYY-MM-DD, VARCHAR otherwise.
std::string InferPartitionType(const std::vector<std::string>& values);

// A user's override of inference for one column (`loch load --column NAME:TYPE`, with
// `--timestamp-format`). It is kept in the column's metadata ("hint"), so later loads and crawls
// type the column the same way: VARCHAR reads values as their text; BIGINT, INTEGER, DOUBLE,
// DECIMAL(w,s) and BOOLEAN parse text leniently, DATE and TIMESTAMP with `formats` (strptime
// patterns tried in order; the detected formats, else ISO 8601, when empty). A value that does not
// read as the type is NULL, with its text in the column's raw companion. File statistics of a
// hinted column are not used for pruning, unless text read as text (file_pruner.cc).
struct ColumnHint {
  std::string column;
  std::string type;
  std::vector<std::string> formats;
};
// Parses "NAME:TYPE" (type case-insensitive; TEXT/STRING, INT, LONG, BOOL, DATETIME synonyms).
absl::StatusOr<ColumnHint> ParseColumnHint(std::string_view text);
// Records `hints` on the schema's columns of their names (columns it does not have yet are left
// for a later call) and types those columns as the hints say.
void ApplyColumnHints(Schema& schema, const std::vector<ColumnHint>& hints, SchemaChange& change);

// Values of one column of one file that do not read as the column's type.
struct UnparsedValues {
  std::string column;
  std::string type;
  std::string raw_column;  // where their text is
  int64_t values = 0;      // non-null values in the file
  int64_t unparsed = 0;
  std::vector<std::string> examples;
};

// What joining one data file to a table's schema does.
struct FileMerge {
  Schema schema;  // the table's schema with the file joined
  SchemaChange change;
  // "name: TYPE from FORMAT or FORMAT" for datetimes, "name: TYPE among text" for lenient
  // columns: text columns of the file that the table reads as another type.
  std::vector<std::string> typed_text;
  std::vector<UnparsedValues> unparsed;
  // Columns that became text, text read with the table's parsing.
  std::vector<std::string> warnings;
  // The file as the table registers it: statistics of typed text are their parsed ranges.
  DataFile file;
  // Why the file cannot join the table ("" if it can): it has a renamed column under both its
  // name and a name it had before, which the table cannot tell apart.
  std::string refused;
};

// Joins `file` (with its `profile`) to `schema` of table `table` ("db.table", for messages).
// Partition columns of `schema` win over same-named columns in the file.
FileMerge MergeFile(const Schema& schema, const FileProfile& profile, const DataFile& file,
                    const std::string& table);

// Unparsed values of many files summed per column, for a report that stays short however many
// files a load or crawl reads.
class UnparsedSummary {
 public:
  void Add(const std::string& file, const std::vector<UnparsedValues>& unparsed);
  // One line per column, in the order first seen: "db.t.col: N of M value(s) in FILE (or in K
  // files, first FILE) do not read as TYPE (e.g. "a", "b"); they read as NULL and their text stays
  // in RAW".
  std::vector<std::string> Lines(const std::string& table) const;

 private:
  struct Column {
    UnparsedValues sum;
    std::string first_file;
    int64_t files = 0;
  };
  std::vector<Column> columns_;
};

}  // namespace loch
