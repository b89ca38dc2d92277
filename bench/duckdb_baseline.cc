// Plain DuckDB on the same libduckdb as loch: the baseline of `make bench`.
//
//   duckdb_baseline "SQL"     runs the query in a fresh in-memory database, reads every result
//   chunk,
//                             and prints "engine_ms=<milliseconds>" (execution + fetching) on
//                             stderr.
//   duckdb_baseline --exec "SQL"   runs a statement (used to prepare benchmark data; not timed).

#include <duckdb.h>

#include <chrono>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: duckdb_baseline [--exec] \"SQL\"\n");
    return 2;
  }
  const bool exec = std::strcmp(argv[1], "--exec") == 0;
  const char* sql = argv[exec ? 2 : 1];
  duckdb_database db;
  duckdb_connection connection;
  if (duckdb_open(nullptr, &db) == DuckDBError || duckdb_connect(db, &connection) == DuckDBError) {
    std::fprintf(stderr, "cannot open DuckDB\n");
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  duckdb_result result;
  if (duckdb_query(connection, sql, &result) == DuckDBError) {
    std::fprintf(stderr, "error: %s\n", duckdb_result_error(&result));
    return 1;
  }
  size_t rows = 0;
  while (duckdb_data_chunk chunk = duckdb_fetch_chunk(result)) {
    rows += duckdb_data_chunk_get_size(chunk);
    duckdb_destroy_data_chunk(&chunk);
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  duckdb_destroy_result(&result);
  duckdb_disconnect(&connection);
  duckdb_close(&db);
  if (!exec) std::fprintf(stderr, "engine_ms=%.3f rows=%zu\n", ms, rows);
  return 0;
}
