// Differential test of file pruning (SQLancer's "non-optimizing reference engine" and "ternary
// logic partitioning" oracles): generated tables (many column types, files with different ranges,
// NULLs, edge values) are loaded into a local lake and into an S3 lake (s3rver); generated
// predicates then run on the local lake with pruning, on the S3 lake with pruning, and on the local
// lake with pruning off. A third table is messy text (CSV, NDJSON and JSON arrays, some gzipped)
// that the loader types: day-first and ISO dates, timestamps with offsets, numbers and booleans
// with bad values among them (read as NULL, their text in `<column>_raw`). A pruned engine must
// answer exactly as the unpruned one whenever the unpruned one answers; and on each engine count(p)
// + count(NOT p) + count(p IS NULL) must be the table's row count.
//
// LOCH_DIFF_SEED fixes the seed (printed on failure); LOCH_DIFF_SECONDS (default 90) and
// LOCH_DIFF_CASES (default 100000) bound the run. To study a failure, LOCH_DIFF_ONLY='SELECT ...'
// (with the failing seed) prints one query's answer and bytes scanned on each engine.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>

#include "catalog/catalog.h"
#include "common/ids.h"
#include "common/test_dir.h"
#include "engine/duck.h"
#include "engine/prune_predicate.h"
#include "engine/query_test_support.h"
#include "fmt/format.h"
#include "load/loader.h"
#include "storage/file_cache.h"
#include "storage/local_store.h"
#include "storage/s3_store.h"
#include "tests/support/compress.h"
#include "tests/support/s3_test_server.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using testing_support::S3TestServer;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value == nullptr ? fallback : std::strtoll(value, nullptr, 10);
}

enum class Kind {
  kInteger,
  kHuge,
  kDecimal,
  kDouble,
  kFloat,
  kString,
  kDate,
  kTimestamp,
  kTz,
  kBool
};

struct GenColumn {
  std::string name;
  std::string type;  // DuckDB type written to the Parquet file
  Kind kind;
};

// The typed table: every kind of column pruning must get right.
const std::vector<GenColumn>& TypedColumns() {
  static const std::vector<GenColumn> kColumns = {
      {"i", "BIGINT", Kind::kInteger},       {"i32", "INTEGER", Kind::kInteger},
      {"h", "HUGEINT", Kind::kHuge},         {"n", "DECIMAL(18,3)", Kind::kDecimal},
      {"d", "DOUBLE", Kind::kDouble},        {"f", "FLOAT", Kind::kFloat},
      {"s", "VARCHAR", Kind::kString},       {"dt", "DATE", Kind::kDate},
      {"ts", "TIMESTAMP", Kind::kTimestamp}, {"tz", "TIMESTAMPTZ", Kind::kTz},
      {"b", "BOOLEAN", Kind::kBool}};
  return kColumns;
}

// True if `text` is a JSON number or boolean as written (so a producer may write it bare).
bool IsJsonScalar(const std::string& text) {
  static const std::regex kScalar("true|false|-?(0|[1-9][0-9]*)(\\.[0-9]+)?");
  return std::regex_match(text, kScalar);
}

// The messy table's text columns and the type each is meant to read as.
const std::vector<GenColumn>& MessyColumns() {
  static const std::vector<GenColumn> kColumns = {{"d", "DATE", Kind::kDate},
                                                  {"ts", "TIMESTAMP", Kind::kTimestamp},
                                                  {"qty", "BIGINT", Kind::kInteger},
                                                  {"amount", "DOUBLE", Kind::kDouble},
                                                  {"ok", "BOOLEAN", Kind::kBool}};
  return kColumns;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  int64_t Int(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Int(0, static_cast<int64_t>(items.size()) - 1))];
  }

  // A value of `kind` as SQL, near `base` (each file has its own base, so files have different
  // ranges), now and then an edge value.
  std::string Value(Kind kind, int64_t base) {
    const int64_t v = base + Int(0, 40);
    const bool edge = Chance(0.06);
    switch (kind) {
      case Kind::kInteger:
        if (edge)
          return Pick<std::string>({"9007199254740993", "9007199254740992", "-9007199254740993",
                                    "0", "-1", "2147483647", "-2147483648"});
        return std::to_string(v);
      case Kind::kHuge:
        if (edge)
          return Pick<std::string>({"170141183460469231731687303715884105727",
                                    "-170141183460469231731687303715884105727",
                                    "18446744073709551616", "0"});
        return std::to_string(v) + "000000000000000000000";
      case Kind::kDecimal:
        if (edge) return Pick<std::string>({"0.000", "-0.001", "1.700", "20.200", "999999999.999"});
        return fmt::format("{}.{:03}", v, Int(0, 999));
      case Kind::kDouble:
      case Kind::kFloat:
        if (edge)
          return Pick<std::string>({"'-0.0'", "'0.0'", "'nan'", "'inf'", "'-inf'", "1.7", "20.2",
                                    "9007199254740993", "1e300"});
        return fmt::format("{}.{}", v, Int(0, 99));
      case Kind::kString:
        if (edge) return Pick<std::string>({"''", "'10'", "'9'", "'é'", "'a''b'", "' '"});
        return fmt::format("'s{:03}'", v % 1000);
      case Kind::kDate:
        if (edge) return Pick<std::string>({"'9999-12-31'", "'0001-01-01'", "'1970-01-01'"});
        return fmt::format("'{}'", Date(v));
      case Kind::kTimestamp:
        if (edge) return Pick<std::string>({"'9999-12-31 23:59:59'", "'1970-01-01 00:00:00'"});
        return fmt::format("'{} {:02}:{:02}:00'", Date(v), Int(0, 23), Int(0, 59));
      case Kind::kTz:
        if (edge) return "'2200-01-01 00:00:00+00'";
        return fmt::format("'{} {:02}:00:00+{:02}'", Date(v), Int(0, 23), Int(0, 5));
      case Kind::kBool:
        return Chance(0.5) ? "true" : "false";
    }
    return "NULL";
  }

  // A literal to compare a column of `kind` with: values near the data, edge values, other types.
  std::string Literal(Kind kind, int64_t base) {
    const int64_t v = base + Int(-5, 45);
    std::vector<std::string> choices;
    switch (kind) {
      case Kind::kInteger:
      case Kind::kHuge:
      case Kind::kDecimal:
      case Kind::kDouble:
      case Kind::kFloat:
        choices = {std::to_string(v),
                   fmt::format("{}.{}", v, Int(0, 9)),
                   fmt::format("-{}.5", v),
                   fmt::format("{}e0", v),
                   fmt::format("'{}'", v),
                   fmt::format("CAST({} AS TINYINT)", Int(-100, 100)),
                   fmt::format("{} + 2", v),
                   "1.7",
                   "20.2",
                   "9007199254740993",
                   "9007199254740992e0",
                   "-0.0",
                   "'-0.0'::DOUBLE",
                   "'nan'::DOUBLE",
                   "170141183460469231731687303715884105727",
                   "2^53",
                   "NULL",
                   fmt::format("{}.{}::FLOAT", v, Int(0, 9)),
                   fmt::format("CAST('{}.25' AS DECIMAL(30,2))", v)};
        if (kind == Kind::kHuge) choices.push_back(std::to_string(v) + "000000000000000000000");
        break;
      case Kind::kString:
        choices = {fmt::format("'s{:03}'", v % 1000),
                   "''",
                   "'10'",
                   "'9'",
                   "'zz'",
                   "'é'",
                   "'s'",
                   "NULL",
                   "'a''b'",
                   "'s0' || '5'"};
        break;
      case Kind::kDate:
      case Kind::kTimestamp:
        choices = {fmt::format("DATE '{}'", Date(v)),
                   fmt::format("'{}'", Date(v)),
                   fmt::format("TIMESTAMP '{} 12:00:00'", Date(v)),
                   fmt::format("DATE '{}' + INTERVAL 1 DAY", Date(v)),
                   "DATE '9999-12-31'",
                   fmt::format("TIMESTAMPTZ '{} 00:00:00+02'", Date(v)),
                   "NULL",
                   fmt::format("'{} 23:59:59'", Date(v))};
        break;
      case Kind::kTz:
        choices = {fmt::format("TIMESTAMPTZ '{} 10:00:00+00'", Date(v)),
                   fmt::format("'{} 10:00:00+03'", Date(v)),
                   fmt::format("TIMESTAMP '{} 10:00:00'", Date(v)),
                   fmt::format("DATE '{}'", Date(v)), "NULL"};
        break;
      case Kind::kBool:
        choices = {"true", "false", "'t'", "NULL"};
        break;
    }
    return Pick(choices);
  }

  // A cell of the messy table for `kind`, as the text a producer writes, near `base`: dates
  // day-first or ISO (`iso`), timestamps in ISO 8601 with T, Z, offsets and fractions; now and
  // then (with probability `bad`) a value that does not read as the column's type.
  std::string MessyText(Kind kind, int64_t base, bool iso, double bad) {
    if (Chance(bad))
      return Pick<std::string>({"n/a", "-", "1,5", "007", "31/02/2024", "2024-13-01", "yes"});
    const int64_t v = base + Int(0, 40);
    switch (kind) {
      case Kind::kDate: {
        const std::string date = Date(v);  // yyyy-mm-dd
        if (iso) return date;
        return date.substr(8, 2) + "/" + date.substr(5, 2) + "/" + date.substr(0, 4);
      }
      case Kind::kTimestamp:
        return fmt::format("{}T{:02}:{:02}:{:02}{}{}", Date(v), Int(0, 23), Int(0, 59), Int(0, 59),
                           Chance(0.3) ? ".25" : "",
                           Pick<std::string>({"", "Z", "+02:00", "-05:30"}));
      case Kind::kInteger:
        return std::to_string(v * 7 - 100);
      case Kind::kDouble:
        return fmt::format("{}.{:02}", v - 20, Int(0, 99));
      case Kind::kBool:
        return Chance(0.5) ? "true" : "false";
      default:
        return "?";
    }
  }

  static std::string Date(int64_t day_offset) {
    // Days from 2024-01-01, as a calendar date (valid for any offset DuckDB can hold).
    using namespace std::chrono;
    const sys_days day = sys_days(year{2024} / January / 1) + days(day_offset);
    const year_month_day ymd(day);
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  }

 private:
  std::mt19937_64 rng_;
};

struct Lake {
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<FileCache> cache;
  std::unique_ptr<LakeEngine> engine;
  std::unique_ptr<LakeEngine> unpruned;  // local lake only: the reference
};

class PruneDifferentialTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = S3TestServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
    ASSERT_TRUE(server_->CreateBucket("prune-diff").ok());
  }
  static void TearDownTestSuite() { delete server_; }

  void SetUp() override {
    seed_ = static_cast<uint64_t>(EnvInt("LOCH_DIFF_SEED", std::random_device{}()));
    fs::create_directories(work_ / "local/.loch");
    fs::create_directories(work_ / "s3state");
  }

  void OpenLakes() {
    const std::string root = (work_ / "local").string();
    local_.store = std::move(LocalObjectStore::Open(root)).value();
    local_.catalog = std::move(OpenSqliteCatalog(root + "/.loch/catalog.sqlite")).value();
    EngineOptions options;
    options.readable_root = root;
    local_.engine =
        std::move(LakeEngine::Open(options, local_.catalog.get(), local_.store.get())).value();
    options.prune_files = false;
    local_.unpruned =
        std::move(LakeEngine::Open(options, local_.catalog.get(), local_.store.get())).value();

    auto s3 = S3ObjectStore::Open(server_->ConfigFor("prune-diff", NewRandomId().substr(0, 8)));
    ASSERT_TRUE(s3.ok()) << s3.status();
    s3_.store = std::move(*s3);
    s3_.catalog = std::move(OpenSqliteCatalog((work_ / "s3state/catalog.sqlite").string())).value();
    s3_.cache =
        std::move(FileCache::Open(*s3_.store, (work_ / "s3state/cache").string(), int64_t{1} << 30))
            .value();
    EngineOptions remote;
    remote.readable_root = s3_.cache->dir();
    remote.cache = s3_.cache.get();
    s3_.engine = std::move(LakeEngine::Open(remote, s3_.catalog.get(), s3_.store.get())).value();
  }

  void Load(const std::string& input, const std::string& table) {
    for (Lake* lake : {&local_, &s3_}) {
      Loader loader(*lake->catalog, *lake->store, *lake->engine);
      auto loaded = loader.Load(Principal::LocalAdmin(),
                                LoadRequest{{input}, TableName::Parse(table).value()});
      ASSERT_TRUE(loaded.ok()) << loaded.status();
    }
  }

  // Writes the typed table as Parquet files under part=P/ folders (one file per folder, each with
  // its own value ranges) with DuckDB, and the JSON table as NDJSON under k=K/ folders.
  void WriteTables(Generator& gen, int files, int rows) {
    auto database = duck::Database::OpenInMemory({}).value();
    auto connection = duck::Connection::Open(database).value();
    int64_t id = 0;
    for (int f = 0; f < files; ++f) {
      const int64_t base = gen.Int(-60, 120);
      bases_.push_back(base);
      // Now and then one column is NULL in every row of a file (its Parquet type is then INTEGER:
      // files of one table with different types, read apart).
      // (Always one of two columns: each distinct set of types costs the view one more scan.)
      std::vector<bool> all_null(TypedColumns().size(), false);
      if (gen.Chance(0.3)) all_null[gen.Chance(0.5) ? 5 : 10] = true;  // f or b
      std::vector<std::string> tuples;
      for (int r = 0; r < rows; ++r) {
        std::vector<std::string> cells = {std::to_string(++id)};
        for (size_t c = 0; c < TypedColumns().size(); ++c) {
          const GenColumn& column = TypedColumns()[c];
          cells.push_back(
              all_null[c] || gen.Chance(0.1)
                  ? "NULL"
                  : fmt::format("TRY_CAST({} AS {})", gen.Value(column.kind, base), column.type));
        }
        tuples.push_back("(" + Join(cells, ", ") + ")");
      }
      std::vector<std::string> names = {"id"};
      for (const GenColumn& column : TypedColumns()) names.push_back(column.name);
      const fs::path dir = work_ / "typed" / fmt::format("part={}", f % 5) /
                           fmt::format("day={}", Generator::Date(base / 10));
      fs::create_directories(dir);
      const std::string sql = fmt::format(
          "COPY (SELECT * FROM (VALUES {}) AS t({})) TO '{}' (FORMAT parquet)", Join(tuples, ", "),
          Join(names, ", "), (dir / fmt::format("f{}.parquet", f)).string());
      ASSERT_TRUE(connection.Execute(sql).ok()) << connection.Execute(sql);

      const fs::path json_dir =
          work_ / "json" / fmt::format("k={}", gen.Pick<std::string>({"a", "b", "10", "9"}));
      fs::create_directories(json_dir);
      std::ofstream out(json_dir / fmt::format("f{}.json", f));
      for (int r = 0; r < rows; ++r) {
        std::vector<std::string> fields = {fmt::format("\"id\": {}", id * 1000 + r)};
        if (!gen.Chance(0.1)) fields.push_back(fmt::format("\"i\": {}", base + gen.Int(0, 40)));
        if (!gen.Chance(0.1))
          fields.push_back(fmt::format("\"x\": {}.{}", base + gen.Int(0, 40), gen.Int(0, 9)));
        if (!gen.Chance(0.1))
          fields.push_back(fmt::format("\"s\": \"s{:03}\"", (base + 60) % 1000));
        if (!gen.Chance(0.1))
          fields.push_back(fmt::format("\"day\": \"{}\"", Generator::Date(base + gen.Int(0, 3))));
        out << "{" << Join(fields, ", ") << "}\n";
      }
    }
  }

  // Writes the messy table: text files under src=S/ folders, each in one of CSV, CSV gzipped,
  // NDJSON (numbers and booleans as JSON values or as strings) and a JSON array, each with its
  // dates day-first or ISO. Some files hold only dates whose day is 12 or less (ambiguous).
  void WriteMessyTable(Generator& gen, int files, int rows) {
    for (int f = 0; f < files; ++f) {
      const int64_t base = gen.Int(-60, 120);
      const bool iso = gen.Chance(0.3);
      const bool ambiguous = !iso && gen.Chance(0.3);
      const double bad = gen.Chance(0.5) ? 0.0 : 0.08;  // half the files are clean
      const int64_t first_id = messy_ids_;
      std::vector<std::vector<std::string>> table;  // rows of cells (NULL: nullopt as "")
      for (int r = 0; r < rows; ++r) {
        std::vector<std::string> cells = {std::to_string(++messy_ids_)};
        for (const GenColumn& column : MessyColumns()) {
          std::string text = gen.Chance(0.08) ? "" : gen.MessyText(column.kind, base, iso, bad);
          if (ambiguous && column.kind == Kind::kDate && text.size() == 10 && text[2] == '/')
            text = fmt::format("{:02}{}", gen.Int(1, 12), text.substr(2));
          cells.push_back(text);
        }
        table.push_back(std::move(cells));
      }
      std::vector<std::string> names = {"id"};
      for (const GenColumn& column : MessyColumns()) names.push_back(column.name);
      const fs::path dir =
          work_ / "messy" / fmt::format("src={}", gen.Pick<std::string>({"a", "b", "c"}));
      fs::create_directories(dir);
      const int shape = static_cast<int>(gen.Int(0, 3));
      std::string text, name = fmt::format("f{}", first_id);
      if (shape <= 1) {  // CSV, plain or gzipped
        text = Join(names, ",") + "\n";
        for (auto cells : table) {
          for (std::string& cell : cells)
            if (cell.find(',') != std::string::npos) cell = "\"" + cell + "\"";
          text += Join(cells, ",") + "\n";
        }
        name += shape == 0 ? ".csv" : ".csv.gz";
        if (shape == 1) text = testing_support::GzipText(text);
      } else {  // NDJSON or a JSON array
        std::vector<std::string> objects;
        for (const auto& cells : table) {
          std::vector<std::string> fields;
          for (size_t c = 0; c < cells.size(); ++c) {
            if (cells[c].empty()) continue;  // a missing key
            const bool bare = c == 0 || (IsJsonScalar(cells[c]) && gen.Chance(0.5));
            fields.push_back(
                fmt::format("\"{}\": {}", names[c], bare ? cells[c] : "\"" + cells[c] + "\""));
          }
          objects.push_back("{" + Join(fields, ", ") + "}");
        }
        if (shape == 2) {
          text = Join(objects, "\n") + "\n";
          name += ".ndjson";
        } else {
          text = "[" + Join(objects, ",\n") + "]";
          name += ".json";
        }
      }
      std::ofstream(dir / name, std::ios::binary) << text;
    }
  }

  // A random predicate over `columns` (name, kind), at most `depth` levels of AND/OR/NOT.
  std::string Predicate(Generator& gen, const std::vector<std::pair<std::string, Kind>>& columns,
                        int depth) {
    if (depth > 0 && gen.Chance(0.45)) {
      const int shape = static_cast<int>(gen.Int(0, 2));
      if (shape == 2) return "NOT (" + Predicate(gen, columns, depth - 1) + ")";
      return "(" + Predicate(gen, columns, depth - 1) + (shape == 0 ? " AND " : " OR ") +
             Predicate(gen, columns, depth - 1) + ")";
    }
    const auto& [name, kind] = gen.Pick(columns);
    const int64_t base = gen.Pick(bases_);
    std::string column = name;
    const bool numeric = kind == Kind::kInteger || kind == Kind::kHuge || kind == Kind::kDecimal ||
                         kind == Kind::kDouble || kind == Kind::kFloat;
    if (numeric && gen.Chance(0.25)) {
      column = gen.Pick<std::string>({"CAST({} AS DOUBLE)", "CAST({} AS BIGINT)", "{} * 1", "-{}",
                                      "TRY_CAST({} AS INTEGER)", "CAST({} AS DECIMAL(38,2))"});
      column = fmt::format(fmt::runtime(column), name);
    } else if ((kind == Kind::kDate || kind == Kind::kTimestamp) && gen.Chance(0.2)) {
      column = fmt::format("CAST({} AS {})", name, gen.Pick<std::string>({"DATE", "TIMESTAMP"}));
    }
    const std::string op = gen.Pick<std::string>({"=", "<>", "<", "<=", ">", ">="});
    switch (gen.Int(0, 6)) {
      case 0:
        return fmt::format("{} BETWEEN {} AND {}", column, gen.Literal(kind, base),
                           gen.Literal(kind, base + 10));
      case 1:
        return fmt::format("{} NOT BETWEEN {} AND {}", column, gen.Literal(kind, base),
                           gen.Literal(kind, base + 10));
      case 2:
        return fmt::format("{} {}IN ({}, {})", column, gen.Chance(0.3) ? "NOT " : "",
                           gen.Literal(kind, base), gen.Literal(kind, base));
      case 3:
        return fmt::format("{} IS {}NULL", name, gen.Chance(0.5) ? "NOT " : "");
      case 4:
        return fmt::format("{} {} {}", gen.Literal(kind, base), op, column);
      default:
        return fmt::format("{} {} {}", column, op, gen.Literal(kind, base));
    }
  }

  template <typename F>
  static std::string Timed(std::chrono::nanoseconds& total, F&& run) {
    const auto start = std::chrono::steady_clock::now();
    std::string answer = run();
    total += std::chrono::steady_clock::now() - start;
    return answer;
  }

  static bool IsConversionError(const std::string& answer) {
    return answer.starts_with("ERROR: Conversion Error") ||
           answer.starts_with("ERROR: Out of Range Error");
  }

  // The rows of `sql` as text, or "ERROR: ..."; `bytes_scanned` (if given) gets what the engine
  // chose to read.
  static std::string Answer(LakeEngine& engine, const std::string& sql,
                            int64_t* bytes_scanned = nullptr) {
    auto cursor = engine.Query(Principal::LocalAdmin(), sql);
    if (!cursor.ok()) return "ERROR: " + std::string(ToStd(cursor.status().message()));
    if (bytes_scanned != nullptr) *bytes_scanned = (*cursor)->bytes_scanned();
    auto rows = AllRows(**cursor);
    if (!rows.ok()) return "ERROR: " + std::string(ToStd(rows.status().message()));
    std::string text;
    for (const auto& row : *rows) text += Join(row, ",") + ";";
    return text;
  }

  // Checks one WHERE clause on `table`; returns the failure, or "" when it holds.
  std::string Check(const std::string& table, const std::string& where) {
    std::string failure;
    const std::string select = fmt::format("SELECT count(*), coalesce(sum(id), 0) FROM {}", table);
    int64_t partition_rows = 0;  // count(p) + count(NOT p) + count(p IS NULL), pruned, local
    bool partitions_known = true;
    for (const std::string& condition :
         {where, fmt::format("NOT ({})", where), fmt::format("({}) IS NULL", where)}) {
      const std::string sql = select + " WHERE " + condition;
      const std::string reference =
          Timed(unpruned_time_, [&] { return Answer(*local_.unpruned, sql); });
      int64_t scanned = -1;
      const std::string local =
          Timed(local_time_, [&] { return Answer(*local_.engine, sql, &scanned); });
      const std::string s3 = Timed(s3_time_, [&] { return Answer(*s3_.engine, sql); });
      ++queries_;
      // Did pruning skip a file of the table (so this case tested it)?
      ++queries_of_[table];
      if (scanned >= 0 && scanned < total_bytes_.at(table)) {
        ++pruned_queries_;
        ++pruned_of_[table];
      }
      if (local.starts_with("ERROR")) {
        partitions_known = false;
      } else {
        partition_rows += std::strtoll(local.c_str(), nullptr, 10);
      }
      // A pruned engine may succeed where the reference fails (a skipped file held the value a
      // cast could not convert), never answer differently. A conversion error on one side only is
      // no answer either: whether DuckDB evaluates a failing cast depends on the plan (a Hive
      // filter that removes every row first on a local lake, a join on S3).
      if (reference.starts_with("ERROR")) continue;
      if (IsConversionError(local) || IsConversionError(s3)) {
        ++inconclusive_;
        continue;
      }
      if (local != reference || s3 != reference) {
        failure += fmt::format("\n  {}\n    unpruned: {}\n    local:    {}\n    s3:       {}", sql,
                               reference, local, s3);
      }
    }
    // Ternary logic partitioning: every row is in exactly one of p, NOT p, p IS NULL.
    const int64_t total = total_rows_.at(table);
    if (partitions_known && partition_rows != total) {
      failure += fmt::format("\n  p, NOT p and p IS NULL for {} hold {} rows of {}", where,
                             partition_rows, total);
    }
    return failure;
  }

  static inline S3TestServer* server_ = nullptr;
  TestDir scratch_{"loch-prune-diff"};
  fs::path work_ = scratch_.path();
  uint64_t seed_ = 0;
  Lake local_, s3_;
  std::vector<int64_t> bases_;
  std::map<std::string, int64_t> total_rows_;
  std::map<std::string, int64_t> total_bytes_;  // of each table's files
  int64_t messy_ids_ = 0;
  int64_t queries_ = 0, pruned_queries_ = 0, inconclusive_ = 0;
  std::map<std::string, int64_t> queries_of_, pruned_of_;  // per table
  std::chrono::nanoseconds unpruned_time_{0}, local_time_{0}, s3_time_{0};
};

TEST_F(PruneDifferentialTest, PrunedAnswersEqualUnprunedOnLocalAndS3Lakes) {
  SCOPED_TRACE(fmt::format("LOCH_DIFF_SEED={}", seed_));
  Generator gen(seed_);
  WriteTables(gen, 14, 12);
  WriteMessyTable(gen, 14, 16);
  OpenLakes();
  Load((work_ / "typed").string(), "dt.typed");
  Load((work_ / "json").string(), "dt.json");
  Load((work_ / "messy").string(), "dt.messy");
  for (const std::string table : {"dt.typed", "dt.json", "dt.messy"}) {
    total_rows_[table] = std::stoll(FirstCell(*local_.unpruned, "SELECT count(*) FROM " + table));
    auto cursor = local_.engine->Query(Principal::LocalAdmin(), "SELECT count(*) FROM " + table);
    ASSERT_TRUE(cursor.ok()) << cursor.status();
    total_bytes_[table] = (*cursor)->bytes_scanned();
  }

  std::vector<std::pair<std::string, Kind>> typed = {{"part", Kind::kInteger},
                                                     {"day", Kind::kDate}};
  for (const GenColumn& column : TypedColumns()) typed.emplace_back(column.name, column.kind);
  const std::vector<std::pair<std::string, Kind>> json = {{"k", Kind::kString},
                                                          {"i", Kind::kInteger},
                                                          {"x", Kind::kDouble},
                                                          {"s", Kind::kString},
                                                          {"day", Kind::kDate}};
  // The messy table's columns by the types the loader gave them (text columns stay strings).
  std::vector<std::pair<std::string, Kind>> messy = {{"src", Kind::kString}};
  auto read = local_.catalog->ReadTable(Principal::LocalAdmin(),
                                        TableName::Parse("dt.messy").value(), std::nullopt);
  ASSERT_TRUE(read.ok()) << read.status();
  std::string messy_schema;
  for (const Column& column : read->table.schema.columns) {
    messy_schema += " " + column.name + ":" + column.type;
    const TypeFamily family = FamilyOfTypeName(column.type);
    if (column.type == "DATE") {
      messy.emplace_back(column.name, Kind::kDate);
    } else if (family == TypeFamily::kDatetime) {
      messy.emplace_back(column.name, Kind::kTimestamp);
    } else if (family == TypeFamily::kTimestampTz) {
      messy.emplace_back(column.name, Kind::kTz);
    } else if (family == TypeFamily::kNumeric) {
      messy.emplace_back(column.name, column.type == "DOUBLE" ? Kind::kDouble : Kind::kInteger);
    } else if (family == TypeFamily::kBoolean) {
      messy.emplace_back(column.name, Kind::kBool);
    } else {
      messy.emplace_back(column.name, Kind::kString);
    }
  }

  // Regressions first: each wrong answer found once stays a fixed case.
  const std::vector<std::pair<std::string, std::string>> regressions = {
      {"dt.typed", "n > 1.7"},  // DECIMAL literals were read by their unscaled value
      {"dt.typed", "n > 20.2"},
      {"dt.typed", "d > 1.7"},
      {"dt.typed", "i = 9007199254740993"},  // compared through double
      {"dt.typed", "i = 9007199254740992e0"},
      {"dt.typed", "CAST(i AS DOUBLE) = 9007199254740992"},
      {"dt.typed", "d = -0.0"},
      {"dt.typed", "d > 'nan'::DOUBLE"},
      {"dt.typed", "s = ''"},
      {"dt.typed", "s < '9'"},
      {"dt.typed", "dt = DATE '9999-12-31'"},
      {"dt.typed", "ts >= DATE '2024-02-01'"},
      {"dt.typed", "tz > TIMESTAMP '2024-02-01 10:00:00'"},
      {"dt.typed", "h > 170141183460469231731687303715884105726"},
      {"dt.typed", "f = 1.7"},
      {"dt.typed", "i IN (9007199254740993, 1.5e0)"},
      {"dt.typed", "i BETWEEN 9007199254740992 AND 9.1e15"},
      {"dt.typed", "part = '3' AND NOT (i > 5)"},
      {"dt.typed", "day IS NULL OR i IS NULL"},
      {"dt.json", "k = '10'"},
      {"dt.json", "k < '9'"},
      {"dt.json", "x * 1 > 1.7"},
      {"dt.json", "-x < 0"},
  };
  std::string failures;
  if (const char* only = std::getenv("LOCH_DIFF_ONLY")) {
    for (LakeEngine* engine : {local_.unpruned.get(), local_.engine.get(), s3_.engine.get()}) {
      int64_t scanned = -1;
      std::cout << Answer(*engine, only, &scanned) << " scanned " << scanned << "\n";
    }
    return;
  }
  for (const auto& [table, where] : regressions) failures += Check(table, where);

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(EnvInt("LOCH_DIFF_SECONDS", 90));
  const int64_t max_cases = EnvInt("LOCH_DIFF_CASES", 100000);
  int64_t cases = 0;
  while (cases < max_cases && std::chrono::steady_clock::now() < deadline &&
         failures.size() < 4000) {
    const int64_t pick = gen.Int(0, 9);
    const auto& [table, columns] = pick < 5   ? std::pair{"dt.typed", &typed}
                                   : pick < 7 ? std::pair{"dt.json", &json}
                                              : std::pair{"dt.messy", &messy};
    failures += Check(table, Predicate(gen, *columns, 2));
    ++cases;
  }
  auto ms = [](std::chrono::nanoseconds t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
  };
  std::cout << fmt::format(
      "differential pruning: {} generated cases + {} regressions, {} queries ({} pruned some "
      "file, {} with a conversion error on one side only), seed {}; messy table:{}; time in ms: "
      "unpruned {}, local {}, s3 {}\n",
      cases, regressions.size(), queries_, pruned_queries_, inconclusive_, seed_, messy_schema,
      ms(unpruned_time_), ms(local_time_), ms(s3_time_));
  EXPECT_GT(cases, 100) << "too few cases ran within the time budget";
  for (const auto& [table, queries] : queries_of_) {
    std::cout << fmt::format("  {}: {} queries, {} pruned some file\n", table, queries,
                             pruned_of_[table]);
    // The messy table prunes less, and how much depends on the seed: which of its columns read
    // as text (never pruned by typed bounds) varies. Measured: 7.8-10% of its queries.
    const int64_t floor = table == "dt.messy" ? queries / 50 : queries / 20;
    EXPECT_GT(pruned_of_[table], floor)
        << "too few queries of " << table << " pruned anything: the test is weak";
  }
  EXPECT_EQ(failures, "") << "seed " << seed_;
}

}  // namespace
}  // namespace loch
