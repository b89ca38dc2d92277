#include "pgwire/catalog_emulation.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <regex>

#include "common/strings.h"
#include "engine/duck.h"
#include "engine/query_cursor.h"
#include "engine/session_functions.h"
#include "engine/value_decoder.h"
#include "fmt/format.h"
#include "pgwire/materialized_cursor.h"
#include "pgwire/types.h"

namespace loch::pg {
namespace {

// OIDs of the fixed namespaces, as in PostgreSQL; lake databases get kFirstNamespaceOid + i and
// tables kFirstTableOid + their catalog id (stable across refreshes).
constexpr int64_t kPgCatalogNamespaceOid = 11;
constexpr int64_t kInformationSchemaNamespaceOid = 13;
constexpr int64_t kFirstNamespaceOid = 16384;
constexpr int64_t kFirstTableOid = 1000000;
constexpr int64_t kFirstViewOid = 2000000000;
constexpr int64_t kOwnerOid = 10;
constexpr int64_t kPgClassOid = 1259;  // PostgreSQL's: pg_description.classoid of relations
constexpr int64_t kHeapAccessMethodOid = 2;
constexpr int64_t kLakeDatabaseOid = 16383;

// The emulated catalog's shape. Columns are the ones psql and common drivers read.
constexpr const char* kSchemaSql = R"sql(
CREATE TYPE regclass AS INTEGER;
CREATE TYPE regtype AS INTEGER;
CREATE TYPE regnamespace AS INTEGER;
CREATE TYPE regproc AS INTEGER;
CREATE TYPE regrole AS INTEGER;
CREATE TABLE pg_namespace(oid INTEGER, nspname VARCHAR, nspowner INTEGER, nspacl VARCHAR);
CREATE TABLE pg_class(oid INTEGER, relname VARCHAR, relnamespace INTEGER, reltype INTEGER,
  reloftype INTEGER, relowner INTEGER, relam INTEGER, relfilenode INTEGER, reltablespace INTEGER,
  relpages INTEGER, reltuples DOUBLE, reltoastrelid INTEGER, relhasindex BOOLEAN,
  relisshared BOOLEAN, relpersistence VARCHAR, relkind VARCHAR, relnatts SMALLINT,
  relchecks SMALLINT, relhasrules BOOLEAN, relhastriggers BOOLEAN, relhassubclass BOOLEAN,
  relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, relispopulated BOOLEAN,
  relreplident VARCHAR, relispartition BOOLEAN, relacl VARCHAR, reloptions VARCHAR[],
  relpartbound VARCHAR);
CREATE TABLE pg_attribute(attrelid INTEGER, attname VARCHAR, atttypid INTEGER, attlen SMALLINT,
  attnum SMALLINT, atttypmod INTEGER, attnotnull BOOLEAN, atthasdef BOOLEAN, attidentity VARCHAR,
  attgenerated VARCHAR, attisdropped BOOLEAN, attcollation INTEGER, attstattarget INTEGER,
  attstorage VARCHAR, attcompression VARCHAR);
CREATE TABLE pg_type(oid INTEGER, typname VARCHAR, typnamespace INTEGER, typowner INTEGER,
  typlen SMALLINT, typtype VARCHAR, typcategory VARCHAR, typrelid INTEGER, typelem INTEGER,
  typarray INTEGER, typbasetype INTEGER, typtypmod INTEGER, typnotnull BOOLEAN,
  typcollation INTEGER, loch_formatted VARCHAR);
CREATE TABLE pg_am(oid INTEGER, amname VARCHAR, amtype VARCHAR);
CREATE TABLE pg_attrdef(oid INTEGER, adrelid INTEGER, adnum SMALLINT, adbin VARCHAR);
CREATE TABLE pg_collation(oid INTEGER, collname VARCHAR, collnamespace INTEGER);
CREATE TABLE pg_policy(oid INTEGER, polname VARCHAR, polrelid INTEGER, polcmd VARCHAR,
  polpermissive BOOLEAN, polroles INTEGER[], polqual VARCHAR, polwithcheck VARCHAR);
CREATE TABLE pg_statistic_ext(oid INTEGER, stxrelid INTEGER, stxname VARCHAR,
  stxnamespace INTEGER, stxstattarget INTEGER, stxkind VARCHAR[]);
CREATE TABLE pg_publication(oid INTEGER, pubname VARCHAR, puballtables BOOLEAN);
CREATE TABLE pg_publication_namespace(oid INTEGER, pnpubid INTEGER, pnnspid INTEGER);
CREATE TABLE pg_publication_rel(oid INTEGER, prpubid INTEGER, prrelid INTEGER, prqual VARCHAR,
  prattrs SMALLINT[]);
CREATE TABLE pg_inherits(inhrelid INTEGER, inhparent INTEGER, inhseqno INTEGER,
  inhdetachpending BOOLEAN);
CREATE TABLE pg_index(indexrelid INTEGER, indrelid INTEGER, indisprimary BOOLEAN,
  indisunique BOOLEAN, indkey SMALLINT[]);
CREATE TABLE pg_constraint(oid INTEGER, conname VARCHAR, connamespace INTEGER, contype VARCHAR,
  conrelid INTEGER, conindid INTEGER, conkey SMALLINT[]);
CREATE TABLE pg_rewrite(oid INTEGER, rulename VARCHAR, ev_class INTEGER, ev_type VARCHAR,
  is_instead BOOLEAN);
CREATE TABLE pg_trigger(oid INTEGER, tgrelid INTEGER, tgname VARCHAR, tgisinternal BOOLEAN);
CREATE TABLE pg_description(objoid INTEGER, classoid INTEGER, objsubid INTEGER,
  description VARCHAR);
CREATE TABLE pg_roles(oid INTEGER, rolname VARCHAR, rolsuper BOOLEAN, rolcanlogin BOOLEAN,
  rolinherit BOOLEAN, rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, rolconnlimit INTEGER,
  rolvaliduntil TIMESTAMP, rolreplication BOOLEAN, rolbypassrls BOOLEAN);
CREATE TABLE pg_auth_members(roleid INTEGER, member INTEGER);
CREATE TABLE pg_database(oid INTEGER, datname VARCHAR, datdba INTEGER, encoding INTEGER,
  datcollate VARCHAR, datctype VARCHAR, daticulocale VARCHAR, datlocprovider VARCHAR,
  datistemplate BOOLEAN, datallowconn BOOLEAN, datacl VARCHAR[]);
CREATE TABLE pg_tables(schemaname VARCHAR, tablename VARCHAR, tableowner VARCHAR,
  tablespace VARCHAR, hasindexes BOOLEAN, hasrules BOOLEAN, hastriggers BOOLEAN,
  rowsecurity BOOLEAN);
CREATE TABLE pg_views(schemaname VARCHAR, viewname VARCHAR, viewowner VARCHAR,
  definition VARCHAR);
CREATE TABLE schemata(catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR);
CREATE TABLE tables(table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  table_type VARCHAR);
CREATE TABLE columns(table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  column_name VARCHAR, ordinal_position INTEGER, column_default VARCHAR, is_nullable VARCHAR,
  data_type VARCHAR, udt_name VARCHAR);
CREATE TABLE views(table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR,
  view_definition VARCHAR);
CREATE MACRO pg_table_is_visible(relation) AS true;
CREATE MACRO pg_type_is_visible(type_oid) AS true;
CREATE MACRO format_type(type_oid, typemod) AS
  (SELECT coalesce(max(loch_formatted), '???') FROM pg_type WHERE oid = type_oid);
CREATE MACRO pg_get_expr(expr, relation) AS NULL, (expr, relation, pretty) AS NULL;
CREATE MACRO pg_get_viewdef(view_oid) AS
  (SELECT any_value(v.definition) FROM pg_views v JOIN pg_class c ON c.relname = v.viewname
   JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = v.schemaname
   WHERE c.oid = view_oid), (view_oid, pretty) AS pg_get_viewdef(view_oid);
CREATE MACRO pg_relation_is_publishable(relation) AS false;
CREATE MACRO pg_get_ruledef(rule) AS NULL, (rule, pretty) AS NULL;
CREATE MACRO pg_get_statisticsobjdef_columns(statistics) AS NULL;
CREATE MACRO array_upper(list, dimension) AS len(list);
CREATE MACRO obj_description(object, catalog_name) AS
  (SELECT any_value(description) FROM pg_description WHERE objoid = object AND objsubid = 0),
  (object) AS obj_description(object, 'pg_class');
CREATE MACRO col_description(relation, column_number) AS
  (SELECT any_value(description) FROM pg_description
   WHERE objoid = relation AND objsubid = column_number);
CREATE MACRO shobj_description(object, catalog_name) AS NULL;
CREATE MACRO pg_encoding_to_char(encoding) AS 'UTF8';
CREATE MACRO pg_table_size(relation) AS NULL;
CREATE MACRO pg_total_relation_size(relation) AS NULL;
CREATE MACRO pg_size_pretty(bytes) AS NULL;
CREATE MACRO has_table_privilege(relation, privilege) AS true, (who, relation, privilege) AS true;
CREATE MACRO has_schema_privilege(schema, privilege) AS true, (who, schema, privilege) AS true;
)sql";

// Every type loch answers with, as pg_type rows: oid, typname, typlen, category.
struct TypeRow {
  int32_t oid;
  const char* typname;
  const char* category;
};
constexpr TypeRow kTypes[] = {
    {kBool, "bool", "B"},           {kBytea, "bytea", "U"},
    {kInt8, "int8", "N"},           {kInt2, "int2", "N"},
    {kInt4, "int4", "N"},           {kText, "text", "S"},
    {kJson, "json", "U"},           {kFloat4, "float4", "N"},
    {kFloat8, "float8", "N"},       {kVarchar, "varchar", "S"},
    {kDate, "date", "D"},           {kTime, "time", "D"},
    {kTimestamp, "timestamp", "D"}, {kTimestampTz, "timestamptz", "D"},
    {kInterval, "interval", "T"},   {kNumeric, "numeric", "N"},
    {kUuid, "uuid", "U"},
};

// Rows for one emulated table, built as a single INSERT.
class RowsBuilder {
 public:
  explicit RowsBuilder(std::string table) : table_(std::move(table)) {}
  RowsBuilder& Row() {
    rows_.emplace_back();
    return *this;
  }
  RowsBuilder& Int(int64_t value) { return Add(fmt::format("{}", value)); }
  RowsBuilder& Text(std::string_view value) { return Add(QuoteLiteral(value)); }
  RowsBuilder& Bool(bool value) { return Add(value ? "true" : "false"); }
  RowsBuilder& Null() { return Add("NULL"); }
  // Replaces the table's rows.
  std::string Sql() const {
    std::string sql = fmt::format("DELETE FROM {};\n", table_);
    if (rows_.empty()) return sql;
    std::vector<std::string> tuples;
    tuples.reserve(rows_.size());
    for (const auto& row : rows_) tuples.push_back("(" + Join(row, ", ") + ")");
    return sql + fmt::format("INSERT INTO {} VALUES\n{};\n", table_, Join(tuples, ",\n"));
  }

 private:
  RowsBuilder& Add(std::string literal) {
    rows_.back().push_back(std::move(literal));
    return *this;
  }
  std::string table_;
  std::vector<std::vector<std::string>> rows_;
};

// A column's type OID from its DuckDB type name (nested types are json).
int32_t OidOfColumnType(const std::string& type) {
  const bool nested = type.find('(') != std::string::npos && type.rfind("DECIMAL", 0) != 0;
  const bool list = type.size() > 2 && type.compare(type.size() - 1, 1, "]") == 0;
  if (nested || list) return kJson;
  return TypeOidFor(ResultColumn{"", type, ValueKind::kString});
}

}  // namespace

struct PgCatalogEmulation::State {
  State(Catalog* catalog_in, std::string owner_in, duck::Database database_in,
        duck::Connection connection_in)
      : catalog(catalog_in),
        owner(std::move(owner_in)),
        database(std::move(database_in)),
        connection(std::move(connection_in)) {}
  Catalog* catalog;
  std::string owner;
  duck::Database database;
  duck::Connection connection;
  std::mutex mu;
  std::string fingerprint;  // of the catalog state last loaded
};

namespace {

// Calls `word` with each word of `sql` in order, lower-cased: identifiers (quotes removed) and
// single punctuation characters; string literals and comments are skipped. Stops when `word`
// returns false. Linear, no recursion, one word in memory at a time: `sql` is a client's, of any
// length.
void ForEachWord(std::string_view sql, const std::function<bool(const std::string&)>& word) {
  size_t i = 0;
  std::string current;
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  while (i < sql.size()) {
    const char c = sql[i];
    current.clear();
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    } else if (sql.substr(i, 2) == "--") {
      const size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
      continue;
    } else if (sql.substr(i, 2) == "/*") {
      const size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
      continue;
    } else if (c == '\'') {
      const size_t end = sql.find('\'', i + 1);
      i = end == std::string_view::npos ? sql.size() : end + 1;  // '' restarts a literal: fine
      continue;
    } else if (c == '"') {
      const size_t end = sql.find('"', i + 1);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      for (size_t k = i + 1; k < stop && current.size() < 256; ++k) current += lower(sql[k]);
      i = stop + 1;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      while (i < sql.size() &&
             (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_')) {
        if (current.size() < 256) current += lower(sql[i]);
        ++i;
      }
    } else {
      current = std::string(1, c);
      ++i;
    }
    if (!word(current)) return;
  }
}

// Catalog queries are rewritten with regular expressions, which recurse per character: longer
// ones are refused (tools' catalog queries are a few KiB).
constexpr size_t kMaxCatalogQueryBytes = 16 << 10;

}  // namespace

bool PgCatalogEmulation::IsCatalogQuery(std::string_view sql) {
  bool catalog = false, has_from = false, server_function = false;
  std::string previous, before_previous;  // the two words before the current one
  ForEachWord(sql, [&](const std::string& word) {
    if (word == "pg_catalog" || word == "information_schema" ||
        ((previous == "from" || previous == "join") && word.starts_with("pg_"))) {
      catalog = true;
      return false;
    }
    has_from = has_from || word == "from";
    // What drivers and BI tools ask first: `SELECT version()`, `SELECT current_database()`.
    if ((before_previous == "version" || before_previous == "current_database") &&
        previous == "(" && word == ")") {
      server_function = true;
    }
    before_previous = std::move(previous);
    previous = word;
    return true;
  });
  return catalog || (server_function && !has_from);
}

std::string RewriteCatalogQuery(std::string_view sql) {
  static const std::regex kSchemaPrefix(R"re("?\b(pg_catalog|information_schema)"?\.)re",
                                        std::regex::icase | std::regex::optimize);
  static const std::regex kDefaultCollation(R"(\s+COLLATE\s+"?default"?)",
                                            std::regex::icase | std::regex::optimize);
  // `x = ANY(array_column)`: DuckDB cannot unnest a correlated list; list_contains says the same.
  static const std::regex kEqualsAny(R"re(('[^']*'|[\w.]+)\s*=\s*any\s*\(\s*([\w.]+)\s*\))re",
                                     std::regex::icase | std::regex::optimize);
  // PostgreSQL integer array literals such as '{0}' -> DuckDB lists.
  static const std::regex kIntegerArrayLiteral(R"re('\{([0-9, ]*)\}')re", std::regex::optimize);
  // PostgreSQL's regex operators match anywhere in the string; DuckDB's `~` must match all of it.
  static const std::regex kRegexMatch(
      R"re(([\w."]+)\s*(OPERATOR\(\s*~\s*\)|!~\*?|~\*?)\s*('(?:[^']|'')*'))re",
      std::regex::optimize);
  // psql's \d+ asks for the TOAST table's options with a correlated UNNEST, which DuckDB cannot
  // run; loch tables have no TOAST table, so the answer is always empty.
  static const std::regex kToastOptions(
      R"re(array\(select 'toast\.' \|\| x from unnest\(tc\.reloptions\) x\))re",
      std::regex::icase | std::regex::optimize);
  // psql's \d indexes a list with a generate_series alias; DuckDB needs the column named.
  static const std::regex kSeriesAlias(R"re((array_upper\([^()]*\)\))\s+s\b)re",
                                       std::regex::optimize);
  std::string out = std::regex_replace(std::string(sql), kSchemaPrefix, "");
  out = std::regex_replace(out, kDefaultCollation, "");
  out = std::regex_replace(out, kEqualsAny, "list_contains($2, $1)");
  out = std::regex_replace(out, kIntegerArrayLiteral, "[$1]");
  out = std::regex_replace(out, kToastOptions, "[]::VARCHAR[]");
  out = std::regex_replace(out, kSeriesAlias, "$1 s(s)");
  std::string rewritten;
  std::smatch match;
  std::string rest = out;
  while (std::regex_search(rest, match, kRegexMatch)) {
    const std::string op = match[2].str();
    const bool negated = op[0] == '!';
    const bool insensitive = op.back() == '*';
    rewritten += match.prefix().str();
    rewritten += fmt::format("{}regexp_matches({}, {}{})", negated ? "NOT " : "", match[1].str(),
                             match[3].str(), insensitive ? ", 'i'" : "");
    rest = match.suffix().str();
  }
  return rewritten + rest;
}

absl::StatusOr<std::unique_ptr<PgCatalogEmulation>> PgCatalogEmulation::Open(
    Catalog* catalog, const std::string& owner) {
  ASSIGN_OR_RETURN(duck::Database database,
                   duck::Database::OpenInMemory({{"threads", "1"}, {"memory_limit", "256MB"}}));
  ASSIGN_OR_RETURN(duck::Connection connection, duck::Connection::Open(database));
  RETURN_IF_ERROR(connection.Execute(kSchemaSql));
  RowsBuilder types("pg_type");
  for (const TypeRow& type : kTypes) {
    types.Row()
        .Int(type.oid)
        .Text(type.typname)
        .Int(kPgCatalogNamespaceOid)
        .Int(kOwnerOid)
        .Int(TypeSize(type.oid))
        .Text("b")
        .Text(type.category)
        .Int(0)
        .Int(0)
        .Int(0)
        .Int(0)
        .Int(-1)
        .Bool(false)
        .Int(type.category[0] == 'S' ? 100 : 0)
        .Text(TypeName(type.oid));
  }
  RETURN_IF_ERROR(connection.Execute(
      fmt::format("CREATE MACRO pg_get_userbyid(role) AS {};", QuoteLiteral(owner))));
  RowsBuilder roles("pg_roles");
  roles.Row()
      .Int(kOwnerOid)
      .Text(owner)
      .Bool(true)
      .Bool(true)
      .Bool(true)
      .Bool(false)
      .Bool(false)
      .Int(-1)
      .Null()
      .Bool(false)
      .Bool(false);
  RowsBuilder databases("pg_database");  // any database name connects to the lake
  databases.Row()
      .Int(kLakeDatabaseOid)
      .Text("lake")
      .Int(kOwnerOid)
      .Int(6)  // UTF8
      .Text("C")
      .Text("C")
      .Null()
      .Text("c")
      .Bool(false)
      .Bool(true)
      .Null();
  RowsBuilder access_methods("pg_am");
  access_methods.Row().Int(kHeapAccessMethodOid).Text("heap").Text("t");
  RETURN_IF_ERROR(
      connection.Execute(types.Sql() + roles.Sql() + databases.Sql() + access_methods.Sql()));
  // Nothing in here may reach a file, and nobody may loosen that.
  RETURN_IF_ERROR(connection.Execute(
      "SET enable_external_access = false; SET autoload_known_extensions = false; "
      "SET lock_configuration = true;"));
  auto state = std::make_unique<State>(catalog, owner, std::move(database), std::move(connection));
  return std::unique_ptr<PgCatalogEmulation>(new PgCatalogEmulation(std::move(state)));
}

PgCatalogEmulation::PgCatalogEmulation(std::unique_ptr<State> state) : state_(std::move(state)) {}
PgCatalogEmulation::~PgCatalogEmulation() = default;

absl::Status PgCatalogEmulation::Refresh(const Principal& who) {
  ASSIGN_OR_RETURN(std::vector<TableInfo> tables, state_->catalog->ListTables(who, std::nullopt));
  ASSIGN_OR_RETURN(std::vector<ViewInfo> views, state_->catalog->ListViews(who, std::nullopt));
  ASSIGN_OR_RETURN(std::vector<std::string> databases, state_->catalog->ListDatabases(who));
  std::string fingerprint = Join(databases, ",") + ";";
  for (const TableInfo& table : tables) {
    fingerprint += fmt::format("{}@{},", table.table_id, table.current_snapshot);
  }
  for (const ViewInfo& view : views) fingerprint += fmt::format("v{},", view.view_id);
  // Relations as PostgreSQL lists them: tables (relkind 'r') and views ('v').
  struct Relation {
    int64_t oid;
    const TableName* name;
    char kind;
    std::vector<Column> columns;
    const std::string* definition;  // views only
    std::string comment;            // COMMENT ON TABLE; "" for none
  };
  std::vector<Relation> relations;
  for (const TableInfo& table : tables) {
    std::vector<Column> columns = table.schema.columns;
    columns.insert(columns.end(), table.schema.partition_columns.begin(),
                   table.schema.partition_columns.end());
    relations.push_back({kFirstTableOid + table.table_id, &table.name, 'r', std::move(columns),
                         nullptr, table.schema.comment});
  }
  for (const ViewInfo& view : views) {
    relations.push_back(
        {kFirstViewOid + view.view_id, &view.name, 'v', view.columns, &view.sql, ""});
  }
  if (fingerprint == state_->fingerprint) return absl::OkStatus();

  RowsBuilder namespaces("pg_namespace"), schemata("schemata");
  namespaces.Row().Int(kPgCatalogNamespaceOid).Text("pg_catalog").Int(kOwnerOid).Null();
  namespaces.Row()
      .Int(kInformationSchemaNamespaceOid)
      .Text("information_schema")
      .Int(kOwnerOid)
      .Null();
  std::map<std::string, int64_t> namespace_oid;
  for (size_t i = 0; i < databases.size(); ++i) {
    namespace_oid[databases[i]] = kFirstNamespaceOid + static_cast<int64_t>(i);
    namespaces.Row().Int(namespace_oid[databases[i]]).Text(databases[i]).Int(kOwnerOid).Null();
    schemata.Row().Text("lake").Text(databases[i]).Text(state_->owner);
  }
  RowsBuilder classes("pg_class"), attributes("pg_attribute"), pg_tables("pg_tables"),
      pg_views("pg_views"), info_tables("tables"), info_columns("columns"), info_views("views"),
      descriptions("pg_description");
  for (const Relation& relation : relations) {
    const TableName& name = *relation.name;
    const bool is_view = relation.kind == 'v';
    classes.Row()
        .Int(relation.oid)
        .Text(name.table)
        .Int(namespace_oid[name.database])
        .Int(0)
        .Int(0)
        .Int(kOwnerOid)
        .Int(is_view ? 0 : kHeapAccessMethodOid)
        .Int(is_view ? 0 : relation.oid)
        .Int(0)
        .Int(0)
        .Int(-1)
        .Int(0)
        .Bool(false)
        .Bool(false)
        .Text("p")
        .Text(std::string(1, relation.kind))
        .Int(static_cast<int64_t>(relation.columns.size()))
        .Int(0)
        .Bool(is_view)
        .Bool(false)
        .Bool(false)
        .Bool(false)
        .Bool(false)
        .Bool(true)
        .Text(is_view ? "n" : "d")
        .Bool(false)
        .Null()
        .Null()
        .Null();
    if (is_view) {
      pg_views.Row()
          .Text(name.database)
          .Text(name.table)
          .Text(state_->owner)
          .Text(*relation.definition);
      info_views.Row().Text("lake").Text(name.database).Text(name.table).Text(*relation.definition);
    } else {
      pg_tables.Row()
          .Text(name.database)
          .Text(name.table)
          .Text(state_->owner)
          .Null()
          .Bool(false)
          .Bool(false)
          .Bool(false)
          .Bool(false);
    }
    info_tables.Row()
        .Text("lake")
        .Text(name.database)
        .Text(name.table)
        .Text(is_view ? "VIEW" : "BASE TABLE");
    if (!relation.comment.empty())
      descriptions.Row().Int(relation.oid).Int(kPgClassOid).Int(0).Text(relation.comment);
    for (size_t i = 0; i < relation.columns.size(); ++i) {
      const Column& column = relation.columns[i];
      const int32_t type_oid = OidOfColumnType(column.type);
      if (!column.comment.empty()) {
        descriptions.Row()
            .Int(relation.oid)
            .Int(kPgClassOid)
            .Int(static_cast<int64_t>(i + 1))
            .Text(column.comment);
      }
      attributes.Row()
          .Int(relation.oid)
          .Text(column.name)
          .Int(type_oid)
          .Int(TypeSize(type_oid))
          .Int(static_cast<int64_t>(i + 1))
          .Int(-1)
          .Bool(!column.nullable)
          .Bool(false)
          .Text("")
          .Text("")
          .Bool(false)
          .Int(0)
          .Int(-1)
          .Text("x")
          .Null();
      info_columns.Row()
          .Text("lake")
          .Text(name.database)
          .Text(name.table)
          .Text(column.name)
          .Int(static_cast<int64_t>(i + 1))
          .Null()
          .Text(column.nullable ? "YES" : "NO")
          .Text(TypeName(type_oid))
          .Text(TypeName(type_oid));
    }
  }
  const std::string sql = "BEGIN;\n" + namespaces.Sql() + schemata.Sql() + classes.Sql() +
                          attributes.Sql() + pg_tables.Sql() + pg_views.Sql() + info_tables.Sql() +
                          info_columns.Sql() + info_views.Sql() + descriptions.Sql() + "COMMIT;";
  if (absl::Status loaded = state_->connection.Execute(sql); !loaded.ok()) {
    (void)state_->connection.Execute("ROLLBACK");
    return absl::InternalError(
        fmt::format("cannot load the catalog for pg_catalog queries: {}", ToStd(loaded.message())));
  }
  state_->fingerprint = std::move(fingerprint);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<QueryCursor>> PgCatalogEmulation::Query(
    const Principal& who, std::string_view sql, const std::vector<QueryParameter>& parameters) {
  if (sql.size() > kMaxCatalogQueryBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "queries of the system catalog (pg_catalog, information_schema) are limited to {} bytes; "
        "this one is {}",
        kMaxCatalogQueryBytes, sql.size()));
  }
  std::lock_guard lock(state_->mu);
  RETURN_IF_ERROR(Refresh(who));
  RETURN_IF_ERROR(state_->connection.Execute(SessionFunctionsSql(who.name)));
  const std::string rewritten = RewriteCatalogQuery(sql);
  ASSIGN_OR_RETURN(duck::PreparedStatement statement, state_->connection.Prepare(rewritten));
  if (statement.type() != DUCKDB_STATEMENT_TYPE_SELECT) {
    return absl::PermissionDeniedError("only SELECT statements may read the system catalog");
  }
  std::vector<ResultColumn> columns;
  for (size_t i = 0; i < statement.column_count(); ++i) {
    const duck::LogicalType type = statement.column_type(i);
    columns.push_back(ResultColumn{statement.column_name(i), type.Name(), KindOf(type.id())});
  }
  // Read as text by DuckDB itself, whatever the types (now() is a TIMESTAMP WITH TIME ZONE).
  ASSIGN_OR_RETURN(duck::PreparedStatement as_text,
                   state_->connection.Prepare(fmt::format(
                       "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (\n{}\n) AS loch_catalog_answer",
                       TrimStatement(rewritten))));
  RETURN_IF_ERROR(BindParameters(as_text, parameters));
  ASSIGN_OR_RETURN(duck::Result result, as_text.Execute());
  if (result.column_count() != columns.size())
    return absl::InternalError("the catalog answer changed shape when read as text");
  ASSIGN_OR_RETURN(auto rows, result.FetchAllAsText());
  ResultChunk chunk;
  chunk.row_count = rows.size();
  chunk.cells.resize(columns.size());
  for (auto& row : rows) {
    for (size_t column = 0; column < columns.size(); ++column) {
      chunk.cells[column].push_back(std::move(row[column]));
    }
  }
  return MakeMaterializedCursor(std::move(columns), std::move(chunk));
}

}  // namespace loch::pg
