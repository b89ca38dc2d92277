// LakeEngine::Impl's result stager: see lake_engine_impl.h.
#include <algorithm>
#include <filesystem>

#include "common/ids.h"
#include "common/lake_config.h"
#include "common/strings.h"
#include "engine/lake_engine_impl.h"
#include "engine/query_cursor.h"
#include "engine/query_parameters.h"
#include "engine/scratch_dir.h"
#include "engine/type_tree.h"
#include "fmt/format.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

// Files are profiled this many at a time: one scan per batch, not per file.
constexpr size_t kProfileBatch = 64;

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

const Column* FindColumn(const std::vector<Column>& columns, const std::string& name) {
  for (const Column& column : columns) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

// `tree` with every 128-bit integer (HUGEINT, UHUGEINT) a DECIMAL(38,0); true if it had one.
bool WideIntegersAsDecimal(TypeTree& tree) {
  if (tree.name == "HUGEINT" || tree.name == "UHUGEINT") {
    tree.name = "DECIMAL(38,0)";
    return true;
  }
  bool changed = false;
  for (TypeTree& child : tree.children) changed = WideIntegersAsDecimal(child) || changed;
  return changed;
}

// The type a new table keeps a result column of `type` as. DuckDB writes 128-bit integers (what
// sum() of integers returns) to Parquet as DOUBLE, which rounds past 2^53: they are kept as
// DECIMAL(38,0), exact (a value beyond 38 digits fails the write instead of being rounded).
std::string WrittenType(const std::string& type) {
  if (type.find("HUGEINT") == std::string::npos) return type;
  std::optional<TypeTree> tree = ParseType(type);
  if (!tree || !WideIntegersAsDecimal(*tree)) return type;
  return TypeName(*tree);
}

// The SELECT list that turns the query's result (`result`, read as loch_source) into the columns
// to write, and those columns. See StageRequest::columns.
absl::Status PlanProjection(const StageRequest& request, const std::vector<Column>& result,
                            std::vector<Column>& written, std::vector<std::string>& projection) {
  if (request.columns.empty()) {
    written = result;
    for (size_t i = 0; i < result.size(); ++i) {
      written[i].type = WrittenType(result[i].type);
      projection.push_back(written[i].type == result[i].type
                               ? fmt::format("#{} AS {}", i + 1, QuoteIdentifier(result[i].name))
                               : fmt::format("CAST(#{} AS {}) AS {}", i + 1, written[i].type,
                                             QuoteIdentifier(result[i].name)));
    }
    return absl::OkStatus();
  }
  written = request.columns;
  if (!request.by_name) {
    if (written.size() != result.size()) {
      return absl::InvalidArgumentError(
          fmt::format("table {} has {} columns but the query returns {}", request.table.ToString(),
                      written.size(), result.size()));
    }
    for (size_t i = 0; i < written.size(); ++i) {
      projection.push_back(fmt::format("CAST(#{} AS {}) AS {}", i + 1, written[i].type,
                                       QuoteIdentifier(written[i].name)));
    }
    return absl::OkStatus();
  }
  for (const Column& column : result) {
    if (FindColumn(written, column.name) == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("the query returns a column \"{}\" that table {} does not have", column.name,
                      request.table.ToString()));
    }
  }
  for (const Column& column : written) {
    if (FindColumn(result, column.name) == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("the query does not return column \"{}\" of table {}", column.name,
                      request.table.ToString()));
    }
    projection.push_back(
        fmt::format("CAST({0} AS {1}) AS {0}", QuoteIdentifier(column.name), column.type));
  }
  return absl::OkStatus();
}

absl::Status CheckLayout(const WriteLayout& layout, const std::vector<Column>& written) {
  for (const auto& [names, what] :
       {std::pair{&layout.partition_by, "partition"}, std::pair{&layout.sort_by, "sort"}}) {
    for (const std::string& name : *names) {
      if (FindColumn(written, name) == nullptr) {
        return absl::InvalidArgumentError(
            fmt::format("{} column \"{}\" is not a column of the query", what, name));
      }
    }
  }
  if (layout.target_file_bytes < 0) {
    return absl::InvalidArgumentError("the target file size cannot be negative");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LakeEngine::Impl::SplitLargeFiles(duck::Connection& connection,
                                               const std::string& folder, int64_t target_file_bytes,
                                               const std::vector<std::string>& sort_by) {
  std::vector<fs::path> large;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file() &&
        static_cast<double>(entry.file_size()) > 1.5 * static_cast<double>(target_file_bytes)) {
      large.push_back(entry.path());
    }
  }
  std::vector<std::string> order;
  for (const std::string& column : sort_by) order.push_back(QuoteIdentifier(column));
  if (order.empty()) order.push_back("file_row_number");  // the order it was written in
  for (const fs::path& file : large) {
    // Each part takes a contiguous run of rows in that order (numbered by row_number), so the
    // parts' ranges of the sort columns never overlap, whichever way DuckDB's partitioned writer
    // orders rows inside a part.
    const auto bytes = static_cast<int64_t>(fs::file_size(file));
    const int64_t parts_wanted = (bytes + target_file_bytes - 1) / target_file_bytes;
    ASSIGN_OR_RETURN(duck::Result counted,
                     connection.Query(fmt::format("SELECT count(*) FROM read_parquet({}, "
                                                  "hive_partitioning = false)",
                                                  QuoteLiteral(file.string()))));
    ASSIGN_OR_RETURN(auto count, counted.FetchAllAsText());
    const int64_t rows = count.empty() || !count[0][0] ? 0 : ParseInteger(*count[0][0]).value_or(0);
    const int64_t rows_per_part = std::max<int64_t>(1, (rows + parts_wanted - 1) / parts_wanted);
    const fs::path parts = file.parent_path() / (file.stem().string() + ".parts");
    RETURN_IF_ERROR(connection.Execute(fmt::format(
        "COPY (SELECT * EXCLUDE (file_row_number, loch_row) FROM (SELECT *, (row_number() OVER "
        "(ORDER BY {0}) - 1) // {1} AS loch_part, row_number() OVER (ORDER BY {0}) AS loch_row "
        "FROM read_parquet({2}, file_row_number = true, hive_partitioning = false)) ORDER BY "
        "loch_row) TO {3} (FORMAT "
        "parquet, COMPRESSION zstd, PARTITION_BY (loch_part))",
        Join(order, ", "), rows_per_part, QuoteLiteral(file.string()),
        QuoteLiteral(parts.string()))));
    std::error_code error;
    for (const auto& part : fs::recursive_directory_iterator(parts)) {
      if (!part.is_regular_file()) continue;
      // parts/loch_part=3/data_0.parquet -> <stem>_3_0.parquet
      const std::string number = part.path().parent_path().filename().string().substr(
          std::string_view("loch_part=").size());
      fs::rename(part.path(),
                 file.parent_path() / fmt::format("{}_{}_{}", file.stem().string(), number,
                                                  part.path().filename().string()),
                 error);
      if (error) {
        return absl::InternalError(fmt::format("splitting {}: {}", file.string(), error.message()));
      }
    }
    fs::remove_all(parts, error);
    if (!fs::remove(file, error) || error) {  // else its rows would be staged twice
      return absl::InternalError(
          fmt::format("splitting {}: cannot remove it: {}", file.string(), error.message()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LakeEngine::Impl::BoundStageQuery> LakeEngine::Impl::BindStageQuery(
    const Principal& who, const StageRequest& request) {
  ASSIGN_OR_RETURN(duck::Connection connection, OpenUserConnection(who));
  ASSIGN_OR_RETURN(StatementTables tables, CheckUserQuery(connection, request.query));
  ASSIGN_OR_RETURN(std::unique_ptr<QueryResources> resources,
                   BindTables(who, tables, request.parameters, connection, &request.pinned));
  // The result's columns as executing gives them: bound values can change their types (DuckDB
  // binds the statement again with them), so they are read from an empty execution.
  ASSIGN_OR_RETURN(duck::PreparedStatement prepared,
                   connection.Prepare(fmt::format("SELECT * FROM (\n{}\n) AS loch_shape LIMIT 0",
                                                  TrimStatement(request.query))));
  RETURN_IF_ERROR(BindParameters(prepared, request.parameters));
  ASSIGN_OR_RETURN(duck::Result shape, prepared.Execute());
  std::vector<Column> columns;
  for (size_t i = 0; i < shape.column_count(); ++i) {
    columns.emplace_back(shape.column_name(i), shape.column_type(i).Name());
  }
  return BoundStageQuery{std::move(connection), std::move(resources), std::move(columns)};
}

absl::StatusOr<StagedFiles> LakeEngine::Impl::StageResult(const Principal& who,
                                                          const StageRequest& request) {
  ASSIGN_OR_RETURN(BoundStageQuery bound, BindStageQuery(who, request));
  duck::Connection& connection = bound.connection;
  std::unique_ptr<QueryResources>& resources = bound.resources;
  const std::vector<Column>& result = bound.columns;
  const std::string_view query = TrimStatement(request.query);
  std::vector<Column> written;
  std::vector<std::string> projection;
  RETURN_IF_ERROR(PlanProjection(request, result, written, projection));
  const WriteLayout& layout = request.layout;
  RETURN_IF_ERROR(CheckLayout(layout, written));

  StagedFiles staged;
  for (const Column& column : written) {
    (Contains(layout.partition_by, column.name) ? staged.schema.partition_columns
                                                : staged.schema.columns)
        .push_back(column);
  }
  // Partition columns in the layout's order: that is their folders' order.
  std::vector<Column> partitions;
  for (const std::string& name : layout.partition_by) {
    partitions.push_back(*FindColumn(written, name));
  }
  staged.schema.partition_columns = partitions;
  std::vector<std::string> partition_names, order;
  for (const std::string& name : layout.partition_by) {
    partition_names.push_back(QuoteIdentifier(name));
  }
  order = partition_names;
  for (const std::string& name : layout.sort_by) order.push_back(QuoteIdentifier(name));

  ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> scratch,
                   ScratchDir::Make(options.readable_root, "write"));
  const std::string& spool = scratch->path();
  const bool partitioned = !partition_names.empty();
  const bool sized = layout.target_file_bytes > 0;
  std::string target = spool, copy_options;
  if (partitioned) {
    copy_options = fmt::format(", PARTITION_BY ({})", Join(partition_names, ", "));
  } else {
    target = spool + "/data.parquet";  // in order; split below if it is larger than asked
  }
  // Partitioned output is sorted by its partition columns first: DuckDB keeps at most
  // partitioned_write_max_open_files (100) files open and starts a new file whenever it reopens a
  // partition, so unsorted rows of many partitions became many small files (3M rows in 229
  // partitions: 879 files; 30M rows in 2000: 110,357 files in 107 s, sorted: 2149 in 29 s).
  const std::string copy = fmt::format(
      "COPY (SELECT {} FROM (\n{}\n) AS loch_source{}) TO {} (FORMAT parquet, COMPRESSION zstd{})",
      Join(projection, ", "), query, order.empty() ? "" : " ORDER BY " + Join(order, ", "),
      QuoteLiteral(target), copy_options);
  {
    ASSIGN_OR_RETURN(duck::PreparedStatement copying, connection.Prepare(copy));
    RETURN_IF_ERROR(BindParameters(copying, request.parameters));
    RETURN_IF_ERROR(copying.Execute().status());
  }
  if (sized) {  // FILE_SIZE_BYTES cannot end a file inside a row group: split what overshot
    RETURN_IF_ERROR(SplitLargeFiles(connection, spool, layout.target_file_bytes, layout.sort_by));
  }
  if (resources != nullptr) {  // leave the private catalog before it is detached
    connection.Execute("USE memory").IgnoreError();
    resources.reset();
  }

  // Profile the files and copy them into tables/<db>/<table>/<write id>/.
  staged.write_id = request.write_id.empty() ? NewTimeOrderedId() : request.write_id;
  staged.prefix = !request.prefix.empty()
                      ? request.prefix
                      : fmt::format("{}{}/{}/{}/", kCuratedZone, request.table.database,
                                    request.table.table, staged.write_id);
  std::vector<std::string> local_paths;  // parallel to staged.files
  for (const auto& entry : fs::recursive_directory_iterator(spool)) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = fs::relative(entry.path(), spool).string();
    DataFile file;
    file.key =
        staged.prefix + (request.subfolder.empty() ? "" : request.subfolder + "/") + relative;
    file.format = "parquet";
    file.owned = true;
    file.size_bytes = static_cast<int64_t>(entry.file_size());
    for (std::string_view segment : Split(relative, '/')) {
      if (const size_t eq = segment.find('='); eq != std::string_view::npos) {
        file.partition_values[std::string(segment.substr(0, eq))] =
            std::string(segment.substr(eq + 1));
      }
    }
    staged.files.push_back(std::move(file));
    local_paths.push_back(entry.path().string());
  }
  auto fail = [&](absl::Status status) {
    DiscardStaged(staged);
    return status;
  };
  for (size_t first = 0; first < staged.files.size(); first += kProfileBatch) {
    const size_t last = std::min(staged.files.size(), first + kProfileBatch);
    std::vector<std::string> keys;
    std::vector<absl::StatusOr<std::string>> paths;
    for (size_t i = first; i < last; ++i) {
      keys.push_back(staged.files[i].key);
      paths.emplace_back(local_paths[i]);
    }
    std::vector<absl::StatusOr<FileProfile>> profiles;
    {
      std::lock_guard lock(admin_mu);
      // The query typed the columns: text is measured as text, never typed from its values.
      profiles =
          ProfileBatch(keys, paths, "parquet", std::vector<const JsonShape*>(keys.size(), nullptr),
                       /*type_text=*/false);
    }
    for (size_t i = first; i < last; ++i) {
      absl::StatusOr<FileProfile>& profile = profiles[i - first];
      if (!profile.ok()) return fail(profile.status());
      DataFile& file = staged.files[i];
      file.row_count = profile->row_count;
      file.stats = std::move(profile->stats);
      if (absl::Status put = store->PutFile(file.key, local_paths[i]); !put.ok()) return fail(put);
      auto head = store->Head(file.key);
      if (!head.ok()) return fail(head.status());
      file.etag = head->etag;
      staged.rows += file.row_count;
      staged.bytes += file.size_bytes;
    }
  }
  return staged;
}

absl::StatusOr<std::vector<TableName>> LakeEngine::Impl::SourceTables(const Principal& who,
                                                                      std::string_view query) {
  ASSIGN_OR_RETURN(duck::Connection connection, OpenUserConnection(who));
  ASSIGN_OR_RETURN(StatementTables tables, CheckUserQuery(connection, query));
  if (!tables.unqualified.empty()) return UnknownTables(who, tables.unqualified);
  ResolvedNames names;
  RETURN_IF_ERROR(ResolveNames(who, tables.qualified, connection, 0, names));
  return names.tables;
}

void LakeEngine::Impl::DiscardStaged(const StagedFiles& staged) {
  for (const DataFile& file : staged.files) store->Delete(file.key).IgnoreError();
}

}  // namespace loch
