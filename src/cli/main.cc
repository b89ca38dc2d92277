// The `loch` command: parses flags and hands them to the subcommands in commands.cc.

#include <iostream>

#include "CLI/CLI.hpp"
#include "cli/catalog_commands.h"
#include "cli/commands.h"
#include "cli/compact_command.h"
#include "cli/crawler_commands.h"
#include "cli/job_commands.h"
#include "cli/run_commands.h"
#include "cli/stream_commands.h"
#include "cli/suggestions.h"
#include "cli/vacuum_command.h"
#include "cli/workgroup_commands.h"
#include "common/logging.h"
#include "common/strings.h"
#include "common/version.h"
#include "engine/lake_engine.h"
#include "fmt/format.h"

namespace {

int Report(const absl::Status& status) {
  if (status.ok()) return 0;
  fmt::print(stderr, "error: {}\n", loch::ToStd(status.message()));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  loch::InitLogging();
  CLI::App app{
      "loch: a self-hosted data lake in one binary.\n"
      "The lake is a local folder (default ./lake, or --lake / LOCH_LAKE) with a catalog of "
      "tables."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.set_version_flag(
      "--version",
      [] { return fmt::format("loch {} (DuckDB {})", loch::LochVersion(), loch::EngineVersion()); },
      "Print loch's version and exit");

  loch::cli::CommonOptions common;
  auto add_lake = [&](CLI::App* command) {
    command->add_option("--lake", common.lake,
                        "Lake: a folder or s3://BUCKET/PREFIX (default: $LOCH_LAKE, else ./lake)");
    command->add_option("--state", common.state,
                        "Local state folder (catalog, caches); required for an S3 lake "
                        "(default: $LOCH_STATE, else <lake>/.loch)");
  };
  absl::Status status;

  loch::cli::InitOptions init_options;
  auto* init = app.add_subcommand("init",
                                  "Create a lake (idempotent). For s3://BUCKET/PREFIX, credentials "
                                  "come from AWS_ACCESS_KEY_ID, "
                                  "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)");
  add_lake(init);
  init->add_option("--endpoint", init_options.endpoint,
                   "S3 endpoint URL (default: $AWS_ENDPOINT_URL, else AWS)");
  init->add_option("--region", init_options.region,
                   "S3 region (default: $AWS_REGION, else us-east-1)");
  init->add_option("--addressing", init_options.addressing,
                   "S3 addressing: auto (path-style for IP/localhost endpoints), path or virtual")
      ->check(CLI::IsMember({"auto", "path", "virtual"}));
  init->add_option("--sse", init_options.sse,
                   "S3 server-side encryption asked for on every object loch writes: AES256 "
                   "(S3-managed keys) or aws:kms; \"\" for the bucket's default. Run init "
                   "again to change it (objects already written keep theirs)")
      ->check(CLI::IsMember({"", "AES256", "aws:kms"}));
  init->add_option("--sse-kms-key-id", init_options.sse_kms_key_id,
                   "KMS key (id or ARN) for --sse aws:kms: not supported yet (Debian 12's "
                   "libcurl signs it wrongly); --sse aws:kms uses the bucket's default key");
  init->add_flag("--recover", init_options.recover,
                 "Rebuild the catalog of an existing lake whose state folder was lost, from the "
                 "catalog journal the lake keeps (_loch/catalog/), into a new --state folder: "
                 "every commit up to the last acknowledged one. Kept by S3 lakes and by local "
                 "lakes whose --state is outside the lake. New admin credentials are made");
  init->add_flag("--new-catalog", init_options.new_catalog,
                 "Start an empty catalog for a lake whose journal names another (refused "
                 "otherwise: use --recover), e.g. before `loch catalog restore`")
      ->excludes("--recover");
  init->callback([&] { status = loch::cli::RunInit(common, init_options, std::cout); });

  loch::cli::LoadOptions load;
  auto* load_cmd = app.add_subcommand("load",
                                      "Copy files (NDJSON, JSON array, CSV, Parquet; .gz/.zst) "
                                      "into raw/ and register or append a table");
  load_cmd
      ->add_option("files", load.inputs,
                   "Files or folders (name=value sub-folders become partitions)")
      ->required();
  load_cmd->add_option("--table", load.table, "Target table as DATABASE.TABLE")->required();
  load_cmd->add_flag("--allow-duplicates", load.allow_duplicates,
                     "Load files even if the table already has their content (by SHA-256)");
  load_cmd->add_flag("--dry-run", load.dry_run,
                     "Print the inferred schema and what the load would change; change nothing");
  load_cmd
      ->add_option("--column", load.columns,
                   "Type a column instead of inferring it: NAME:TYPE with TYPE one of "
                   "VARCHAR, BIGINT, INTEGER, DOUBLE, DECIMAL(w,s), BOOLEAN, DATE, TIMESTAMP "
                   "(repeatable; later loads keep it)")
      ->allow_extra_args(false);
  load_cmd
      ->add_option("--timestamp-format", load.timestamp_formats,
                   "strptime pattern for the --column NAME:TIMESTAMP/DATE columns, e.g. "
                   "\"%d.%m.%Y %H:%M\" (repeatable: tried in order)")
      ->allow_extra_args(false);
  add_lake(load_cmd);
  load_cmd->callback([&] { status = loch::cli::RunLoad(common, load, std::cout); });

  loch::cli::SqlOptions sql;
  auto* sql_cmd = app.add_subcommand("sql", "Run a query over the lake's tables (DATABASE.TABLE)");
  sql_cmd->add_option("query", sql.sql, "The SQL query")->required();
  sql_cmd->add_option("--format", sql.format, "Output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  sql_cmd
      ->add_option("--timeout", sql.timeout_seconds,
                   "Stop the query after this many seconds (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sql_cmd->add_option("--max-rows", sql.max_rows, "Rows shown by the table format")
      ->capture_default_str();
  sql_cmd->add_flag(
      "--timing", sql.timing,
      "Print the query's time on stderr: prepare (check, bind, choose files), execute, output");
  sql_cmd->add_option("--memory-limit", sql.memory_limit,
                      "Engine memory limit, e.g. 4GB (default: 80% of RAM)");
  add_lake(sql_cmd);
  sql_cmd->callback([&] { status = loch::cli::RunSql(common, sql, std::cout); });

  std::optional<std::string> database;
  auto* tables = app.add_subcommand("tables", "List tables (rows, files, size) and views");
  tables->add_option("database", database, "Only this database");
  add_lake(tables);
  tables->callback([&] { status = loch::cli::RunTables(common, database, std::cout); });

  loch::cli::DescribeOptions describe;
  auto* describe_cmd = app.add_subcommand(
      "describe",
      "Show a table's columns, partitions and snapshot, or a view's SQL and what it reads");
  describe_cmd->add_option("table", describe.table, "DATABASE.TABLE or DATABASE.VIEW")->required();
  describe_cmd->add_flag("--versions", describe.versions,
                         "Also show schema versions (with diffs) and snapshots");
  describe_cmd->add_flag("--files", describe.files, "Also list the data files");
  add_lake(describe_cmd);
  describe_cmd->callback([&] { status = loch::cli::RunDescribe(common, describe, std::cout); });

  loch::cli::CrawlOptions crawl;
  auto add_policies = [&](CLI::App* command) {
    command
        ->add_option("--schema-change", crawl.schema_change,
                     "When a column's type would change: update the table, log (skip the file) or "
                     "fail (leave the table)")
        ->check(CLI::IsMember({"update", "log", "fail"}))
        ->capture_default_str();
    command
        ->add_option("--deletes", crawl.deletes,
                     "Objects gone from the store: log, delete (from the table; drop empty "
                     "tables) or deprecate (keep empty tables, marked)")
        ->check(CLI::IsMember({"log", "delete", "deprecate"}))
        ->capture_default_str();
    command
        ->add_option("--recrawl", crawl.recrawl,
                     "new: read only objects not seen before (key + ETag); everything: re-read all")
        ->check(CLI::IsMember({"new", "everything"}))
        ->capture_default_str();
  };
  auto* crawl_cmd = app.add_subcommand(
      "crawl",
      "Crawl key prefixes once: folders become tables, k=v and yyyy/mm/dd/hh folders partitions, "
      "text datetimes typed; only new objects are read");
  crawl_cmd->add_option("prefix", crawl.prefixes, "Key prefixes to crawl, e.g. raw/")->required();
  crawl_cmd->add_option("--database", crawl.database, "Database the tables go into")->required();
  add_policies(crawl_cmd);
  add_lake(crawl_cmd);
  crawl_cmd->callback([&] { status = loch::cli::RunCrawl(common, crawl, std::cout); });

  loch::cli::VacuumCommandOptions vacuum;
  auto* vacuum_cmd = app.add_subcommand(
      "vacuum",
      "Delete the files no snapshot needs: those that left their tables (overwrites, drops) more "
      "than a retention ago, and orphans under tables/");
  vacuum_cmd->add_option("TABLE", vacuum.table, "Only this table (DATABASE.TABLE); default: all");
  vacuum_cmd
      ->add_option("--retain", vacuum.retain,
                   "Keep what snapshots of this period need, e.g. 7d, 36h, 90m")
      ->capture_default_str();
  vacuum_cmd->add_flag("--dry-run", vacuum.dry_run, "Report what would be deleted; change nothing");
  vacuum_cmd->add_flag("--force", vacuum.force,
                       "Allow a retention under 1h (queries still running may lose files)");
  add_lake(vacuum_cmd);
  vacuum_cmd->callback([&] { status = loch::cli::RunVacuum(common, vacuum, std::cout); });

  loch::cli::CompactCommandOptions compact;
  auto* compact_cmd = app.add_subcommand(
      "compact",
      "Rewrite a table's small files into large sorted Parquet files in one commit (its rows "
      "unchanged); raw objects are kept under archive/");
  compact_cmd->add_option("TABLE", compact.table, "The table (DATABASE.TABLE)")->required();
  compact_cmd->add_option("--partition", compact.partition,
                          "Only partitions with this value, COLUMN=VALUE (repeatable)");
  compact_cmd->add_option("--target-mib", compact.target_mib, "Size of the files written (MiB)")
      ->capture_default_str();
  compact_cmd->add_option("--sort-by", compact.sort_by,
                          "Sort each file's rows by this column (repeatable), so that its "
                          "statistics prune");
  compact_cmd->add_flag("--dry-run", compact.dry_run,
                        "Report what would be rewritten; write nothing");
  compact_cmd->add_flag("--json", compact.json, "Print the report as JSON");
  add_lake(compact_cmd);
  compact_cmd->callback([&] { status = loch::cli::RunCompact(common, compact, std::cout); });

  loch::cli::CatalogBackupOptions catalog_backup;
  auto* catalog_cmd = app.add_subcommand(
      "catalog", "Back up the catalog to a verified file (local or S3) and restore it");
  catalog_cmd->require_subcommand(1);
  auto* backup_cmd = catalog_cmd->add_subcommand(
      "backup",
      "Write the catalog as of one commit to a new file, while loch keeps serving; read it back "
      "and verify it");
  backup_cmd->add_option("--to", catalog_backup.place, "FILE or s3://BUCKET/[PREFIX/]NAME (new)")
      ->required();
  add_lake(backup_cmd);
  backup_cmd->callback(
      [&] { status = loch::cli::RunCatalogBackup(common, catalog_backup, std::cout); });
  auto* restore_cmd = catalog_cmd->add_subcommand(
      "restore",
      "Replace the catalog by a verified backup (stop `loch serve` first; on a new machine run "
      "`loch init` for the lake first)");
  restore_cmd->add_option("--from", catalog_backup.place, "FILE or s3://BUCKET/[PREFIX/]NAME")
      ->required();
  restore_cmd->add_flag("--other-lake", catalog_backup.other_lake,
                        "Restore a backup taken of another lake (its data files must be here)");
  restore_cmd->add_flag("--discard-wal", catalog_backup.discard_wal,
                        "Let the server drop the write-ahead logs of streams the backup does not "
                        "have (flush them first: their undelivered records are lost)");
  add_lake(restore_cmd);
  restore_cmd->callback(
      [&] { status = loch::cli::RunCatalogRestore(common, catalog_backup, std::cout); });
  std::string keep_old_for = "1h";
  auto* credentials_cmd = app.add_subcommand(
      "credentials", "The lake's admin secrets in <state>/admin-credentials.json");
  credentials_cmd->require_subcommand(1);
  auto* rotate_cmd = credentials_cmd->add_subcommand(
      "rotate",
      "New token, access key pair and pg password; a running server uses them within 2 s, "
      "without a restart");
  rotate_cmd
      ->add_option("--keep-old-for", keep_old_for,
                   "How long the replaced token and key pair stay valid (e.g. 30m, 1h, 0s), so "
                   "clients can move over")
      ->capture_default_str();
  add_lake(rotate_cmd);
  rotate_cmd->callback(
      [&] { status = loch::cli::RunCredentialsRotate(common, keep_old_for, std::cout); });
  auto* verify_cmd = catalog_cmd->add_subcommand(
      "verify", "Check a backup (hashes, SQLite integrity, content) without restoring it");
  verify_cmd->add_option("BACKUP", catalog_backup.place, "FILE or s3://BUCKET/[PREFIX/]NAME")
      ->required();
  add_lake(verify_cmd);
  verify_cmd->callback(
      [&] { status = loch::cli::RunCatalogVerify(common, catalog_backup, std::cout); });

  auto* crawler_cmd = app.add_subcommand(
      "crawler", "Saved crawlers: create one, run it (each run's report is kept), list, describe");
  crawler_cmd->require_subcommand(1);
  auto* crawler_create = crawler_cmd->add_subcommand("create", "Save a crawler");
  crawler_create->add_option("NAME", crawl.name, "Crawler name")->required();
  crawler_create->add_option("--prefix", crawl.prefixes, "Key prefix to crawl (repeatable)")
      ->required();
  crawler_create->add_option("--database", crawl.database, "Database the tables go into")
      ->required();
  add_policies(crawler_create);
  crawler_create->add_option("--schedule", crawl.schedule,
                             "Cron expression (MIN HOUR DAY MONTH WEEKDAY, or @hourly, @daily...) "
                             "on which `loch serve` runs the crawler in a worker process");
  crawler_create->add_option("--timezone", crawl.timezone, "Time zone of --schedule (IANA name)")
      ->capture_default_str();
  add_lake(crawler_create);
  crawler_create->callback([&] { status = loch::cli::RunCrawlerCreate(common, crawl, std::cout); });
  loch::cli::CrawlerUpdateOptions crawler_update;
  auto* update_cmd = crawler_cmd->add_subcommand(
      "update", "Change a saved crawler's prefixes, database or policies (the rest stay)");
  update_cmd->add_option("NAME", crawler_update.name, "Crawler name")->required();
  update_cmd->add_option("--prefix", crawler_update.prefixes,
                         "Key prefixes to crawl, replacing the saved ones (repeatable)");
  update_cmd->add_option("--database", crawler_update.database, "Database the tables go into");
  update_cmd
      ->add_option("--schema-change", crawler_update.schema_change,
                   "When a column's type would change: update, log or fail")
      ->check(CLI::IsMember({"update", "log", "fail"}));
  update_cmd
      ->add_option("--deletes", crawler_update.deletes,
                   "Objects gone from the store: log, delete or deprecate")
      ->check(CLI::IsMember({"log", "delete", "deprecate"}));
  update_cmd->add_option("--recrawl", crawler_update.recrawl, "new or everything")
      ->check(CLI::IsMember({"new", "everything"}));
  update_cmd->add_option("--schedule", crawler_update.schedule,
                         "Cron expression on which `loch serve` runs it (\"\": none)");
  update_cmd->add_option("--timezone", crawler_update.timezone, "Time zone of the schedule");
  add_lake(update_cmd);
  update_cmd->callback(
      [&] { status = loch::cli::RunCrawlerUpdate(common, crawler_update, std::cout); });
  std::string crawler_name;
  auto* crawler_run =
      crawler_cmd->add_subcommand("run", "Run a saved crawler and print its report");
  crawler_run->add_option("NAME", crawler_name, "Crawler name")->required();
  add_lake(crawler_run);
  crawler_run->callback(
      [&] { status = loch::cli::RunCrawlerRun(common, crawler_name, std::cout); });
  auto* crawler_list =
      crawler_cmd->add_subcommand("list", "List saved crawlers and their last run");
  add_lake(crawler_list);
  crawler_list->callback([&] { status = loch::cli::RunCrawlerList(common, std::cout); });
  auto* crawler_describe =
      crawler_cmd->add_subcommand("describe", "Show a crawler and the reports of its last runs");
  crawler_describe->add_option("NAME", crawler_name, "Crawler name")->required();
  add_lake(crawler_describe);
  crawler_describe->callback(
      [&] { status = loch::cli::RunCrawlerDescribe(common, crawler_name, std::cout); });
  auto* crawler_delete = crawler_cmd->add_subcommand("delete", "Delete a saved crawler");
  crawler_delete->add_option("NAME", crawler_name, "Crawler name")->required();
  add_lake(crawler_delete);
  crawler_delete->callback(
      [&] { status = loch::cli::RunCrawlerDelete(common, crawler_name, std::cout); });

  const auto job_options = loch::cli::AddJobCommands(app, common, add_lake, status);
  int exit_code = 0;  // set by a command whose exit status says more than success or failure
  const auto run_options = loch::cli::AddRunCommands(app, common, add_lake, status, exit_code);

  loch::cli::ServeCommandOptions serve;
  auto* serve_cmd =
      app.add_subcommand("serve",
                         "Run the server: ingestion (streams, Firehose-compatible API), the HTTP "
                         "query API, the Athena-compatible API and (with --pg) the PostgreSQL "
                         "wire protocol");
  serve_cmd->add_option("--http", serve.http, "Address to listen on, HOST:PORT")
      ->capture_default_str();
  serve_cmd->add_option("--pg", serve.pg,
                        "Also speak the PostgreSQL protocol on HOST:PORT (e.g. 127.0.0.1:5433); "
                        "user and password are pg_user/pg_password in admin-credentials.json");
  serve_cmd
      ->add_option("--max-running-queries", serve.max_running_queries,
                   "Queries run at once; the rest wait")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  serve_cmd
      ->add_option("--request-timeout", serve.request_timeout_seconds,
                   "Seconds a request may take to arrive whole (headers and body); slower ones "
                   "are answered 408 and closed")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  serve_cmd
      ->add_option("--http-threads", serve.http_threads,
                   "HTTP requests other than puts answered at once (queries, catalog, console)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  serve_cmd
      ->add_option("--ingest-memory-mib", serve.ingest_memory_mib,
                   "Records accepted but not yet delivered into the lake, at most (MiB); beyond "
                   "it puts are refused with 503 until delivery catches up")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-saved-result-mib", serve.max_saved_result_mib,
                   "A query's result is also saved as CSV to results/<workgroup>/<id>.csv, up "
                   "to this size (MiB); a larger one is not saved there")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  serve_cmd
      ->add_option("--wal-segment-mib", serve.wal_segment_mib,
                   "Size of a stream's write-ahead log segment files (MiB); delivered segments "
                   "are deleted, or kept (two per stream) to be written over")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  serve_cmd
      ->add_option("--tls-cert", serve.tls_cert,
                   "PEM certificate chain (leaf first): HTTPS on --http and TLS on --pg; SIGHUP "
                   "reloads it and --tls-key")
      ->check(CLI::ExistingFile);
  serve_cmd
      ->add_option("--tls-key", serve.tls_key,
                   "PEM private key of --tls-cert (mode 0600: others must not read it)")
      ->check(CLI::ExistingFile);
  serve_cmd->add_flag("--tls-self-signed", serve.tls_self_signed,
                      "Make (once) a private CA and a certificate signed by it in <state>/tls and "
                      "serve with them; clients trust <state>/tls/ca.pem");
  serve_cmd->add_option("--tls-name", serve.tls_names,
                        "Another DNS name or IP address for the --tls-self-signed certificate "
                        "(repeatable; localhost, 127.0.0.1, ::1 and the listen hosts are in it)");
  serve_cmd->add_option("--wal-dir", serve.wal_dir,
                        "Folder of the streams' write-ahead log (default <state>/wal): records are "
                        "acknowledged once fsynced here and live only here until delivered, so "
                        "put it on a replicated volume to survive the loss of this machine");
  serve_cmd
      ->add_option("--max-workers", serve.max_workers,
                   "Runs (jobs) executed at once, each in its own worker process; the rest wait "
                   "in the run store's queue")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd
      ->add_option("--retry-backoff-ms", serve.retry_backoff_ms,
                   "Wait before a failed run's first retry (milliseconds; doubled for each "
                   "further attempt, at most 5 minutes, with jitter)")
      ->check(CLI::Range(0, 3600 * 1000))
      ->capture_default_str();
  serve_cmd->add_option("--failure-webhook", serve.failure_webhook,
                        "http(s) URL that gets a signed JSON POST for every failed or timed-out "
                        "run, failed query and stale table (besides jobs' and workgroups' own)");
  serve_cmd->add_flag("--insecure", serve.insecure,
                      "Allow plain text on an address other than loopback (only when something "
                      "else encrypts the traffic)");
  add_lake(serve_cmd);
  serve_cmd->callback([&] {
    loch::InitLogging("info");  // a server logs its flushes and errors (LOCH_LOG_LEVEL overrides)
    status = loch::cli::RunServe(common, serve, std::cout);
  });

  auto* workgroup_cmd = app.add_subcommand(
      "workgroup",
      "Manage workgroups: per-workgroup query timeout, concurrency, bytes-scanned "
      "limit and failure webhook (a running server applies changes to new queries)");
  workgroup_cmd->require_subcommand(1);
  auto* workgroup_list = workgroup_cmd->add_subcommand("list", "List workgroups and their limits");
  add_lake(workgroup_list);
  workgroup_list->callback([&] { status = loch::cli::RunWorkgroupList(common, std::cout); });
  std::string workgroup_name;
  auto* workgroup_describe = workgroup_cmd->add_subcommand("describe", "Show one workgroup");
  workgroup_describe->add_option("NAME", workgroup_name, "Workgroup")->required();
  add_lake(workgroup_describe);
  workgroup_describe->callback(
      [&] { status = loch::cli::RunWorkgroupDescribe(common, workgroup_name, std::cout); });
  loch::cli::WorkgroupSetOptions workgroup_set;
  auto* workgroup_set_cmd = workgroup_cmd->add_subcommand(
      "set", "Create a workgroup or change it (options not given keep their values; 0 = no limit)");
  workgroup_set_cmd->add_option("NAME", workgroup_set.name, "Workgroup")->required();
  workgroup_set_cmd->add_option("--description", workgroup_set.description, "Free text");
  workgroup_set_cmd
      ->add_option("--timeout", workgroup_set.timeout_seconds, "Per-query timeout in seconds")
      ->check(CLI::NonNegativeNumber);
  workgroup_set_cmd
      ->add_option("--max-concurrent", workgroup_set.max_concurrent,
                   "Queries of this workgroup running at once; the rest wait in order")
      ->check(CLI::NonNegativeNumber);
  workgroup_set_cmd
      ->add_option("--max-bytes-scanned", workgroup_set.max_bytes_scanned,
                   "Refuse queries that would read more bytes of data files than this")
      ->check(CLI::NonNegativeNumber);
  workgroup_set_cmd->add_option("--failure-webhook", workgroup_set.failure_webhook,
                                "http(s) URL that receives each failed query as JSON (\"\": none)");
  add_lake(workgroup_set_cmd);
  workgroup_set_cmd->callback(
      [&] { status = loch::cli::RunWorkgroupSet(common, workgroup_set, std::cout); });
  auto* workgroup_delete = workgroup_cmd->add_subcommand("delete", "Delete a workgroup");
  workgroup_delete->add_option("NAME", workgroup_name, "Workgroup")->required();
  add_lake(workgroup_delete);
  workgroup_delete->callback(
      [&] { status = loch::cli::RunWorkgroupDelete(common, workgroup_name, std::cout); });

  // Streams live in the running server: these commands are its HTTP clients.
  loch::cli::ServerOptions server_options;
  auto add_server = [&](CLI::App* command) {
    add_lake(command);  // where the admin token is
    command->add_option("--server", server_options.server,
                        "The loch server's URL (default: $LOCH_SERVER, else "
                        "http://127.0.0.1:8080)");
    command
        ->add_option("--ca-file", server_options.ca_file,
                     "PEM file of the CA that signed an https server's certificate (default: "
                     "$LOCH_CA_FILE, else the system's trusted CAs)")
        ->check(CLI::ExistingFile);
  };
  auto* stream_cmd = app.add_subcommand(
      "stream",
      "Manage delivery streams (a running `loch serve` buffers their records into raw/<stream>/ "
      "and the table raw.<stream>)");
  stream_cmd->require_subcommand(1);
  loch::cli::StreamCreateOptions stream_create;
  auto* stream_create_cmd = stream_cmd->add_subcommand("create", "Create a delivery stream");
  stream_create_cmd->add_option("NAME", stream_create.name, "Stream (letters, digits, - and _)")
      ->required();
  stream_create_cmd
      ->add_option("--buffer-mib", stream_create.buffer_mib,
                   "Deliver when a buffer holds this many MiB (1-128; default 5)")
      ->check(CLI::Range(1, 128));
  stream_create_cmd
      ->add_option("--buffer-seconds", stream_create.buffer_seconds,
                   "... or when its oldest record is this old (0-900; default 60)")
      ->check(CLI::Range(0, 900));
  stream_create_cmd
      ->add_option("--compression", stream_create.compression,
                   "Compression of delivered objects (default zstd)")
      ->check(CLI::IsMember({"zstd", "gzip", "none"}));
  stream_create_cmd->add_flag(
      "--validate-json", stream_create.validate_json,
      "Kept for old scripts: records that are not JSON always go to the error prefix");
  stream_create_cmd->add_flag(
      "--reject-invalid", stream_create.reject_invalid,
      "Refuse, in the put's answer, records that would go to the error "
      "prefix (not JSON, partition field missing) instead of accepting them");
  stream_create_cmd->add_option(
      "--partition-by", stream_create.partition_by,
      "JSON field whose value names a partition folder (repeatable, in folder order)");
  stream_create_cmd->add_option("--max-open-partitions", stream_create.max_open_partitions,
                                "Partition buffers open at once; more delivers early "
                                "(default 64)");
  stream_create_cmd->add_option("--error-prefix", stream_create.error_prefix,
                                "Folder under raw/<stream>/ for records that fail validation or "
                                "partitioning (default errors)");
  stream_create_cmd->add_option("--parquet-table", stream_create.parquet_table,
                                "Deliver zstd Parquet with the columns of this table (DB.TABLE); "
                                "records that do not fit go to the error prefix");
  add_server(stream_create_cmd);
  stream_create_cmd->callback([&] {
    status = loch::cli::RunStreamCreate(common, server_options, stream_create, std::cout);
  });
  std::string stream_name;
  auto* stream_list = stream_cmd->add_subcommand("list", "List streams and their progress");
  add_server(stream_list);
  stream_list->callback(
      [&] { status = loch::cli::RunStreamList(common, server_options, std::cout); });
  auto* stream_describe = stream_cmd->add_subcommand("describe", "Show one stream");
  stream_describe->add_option("NAME", stream_name, "Stream")->required();
  add_server(stream_describe);
  stream_describe->callback([&] {
    status = loch::cli::RunStreamDescribe(common, server_options, stream_name, std::cout);
  });
  auto* stream_flush =
      stream_cmd->add_subcommand("flush", "Deliver what the stream holds now and wait for it");
  stream_flush->add_option("NAME", stream_name, "Stream")->required();
  add_server(stream_flush);
  stream_flush->callback(
      [&] { status = loch::cli::RunStreamFlush(common, server_options, stream_name, std::cout); });
  auto* stream_delete = stream_cmd->add_subcommand(
      "delete", "Deliver what the stream holds, then delete it (its table and objects stay)");
  stream_delete->add_option("NAME", stream_name, "Stream")->required();
  bool force_delete = false;
  stream_delete->add_flag("--force", force_delete,
                          "Delete even if what it holds cannot be delivered (those records are "
                          "lost)");
  add_server(stream_delete);
  stream_delete->callback([&] {
    status =
        loch::cli::RunStreamDelete(common, server_options, stream_name, force_delete, std::cout);
  });

  std::string put_stream, put_file;
  auto* put_cmd = app.add_subcommand(
      "put",
      "Send the records of an NDJSON or JSON-array file to a stream of the running server "
      "(acknowledged once durable)");
  put_cmd->add_option("STREAM", put_stream, "Stream")->required();
  put_cmd
      ->add_option("FILE", put_file,
                   "NDJSON or JSON-array file, plain or gzip/zstd (.gz, .zst); - for stdin")
      ->required();
  add_server(put_cmd);
  put_cmd->callback(
      [&] { status = loch::cli::RunPut(common, server_options, put_stream, put_file, std::cout); });

  loch::cli::GenerateOptions generate;
  auto* generate_cmd = app.add_subcommand(
      "generate",
      "Write sample data for a one-deal-a-day store (deals, orders, clickstream events)");
  generate_cmd->add_option("--out", generate.out_dir, "Output folder")->required();
  generate_cmd->add_option("--events", generate.events, "Clickstream events to generate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  generate_cmd
      ->add_option("--seed", generate.seed, "Random seed; the same seed gives the same files")
      ->capture_default_str();
  generate_cmd
      ->add_option("--dirty", generate.dirty,
                   "Fraction of extra bad records (bad timestamps, missing "
                   "fields, wrong types)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  generate_cmd->callback([&] { status = loch::cli::RunGenerate(generate, std::cout); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    if (code != 0) {
      if (auto hint = loch::cli::SuggestionFor(app, argc, argv)) std::cerr << *hint << "\n";
    }
    return code;
  }
  const int reported = Report(status);
  return reported != 0 ? reported : exit_code;
}
