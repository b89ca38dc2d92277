#pragma once
// Crawler: turns objects already in the lake (dropped there by ingestion, migrations or other
// teams) into catalog tables, incrementally.
//
// For each prefix, the first folder below it names a table (files right under the prefix form a
// table named after the prefix). Folders between the table and a file give partition columns:
// `key=value` (Hive style) or date-shaped `yyyy/mm/dd/hh` (year, month, day, hour). Objects are
// classified by name and first bytes; empty, unknown and unreadable objects are reported and
// skipped while the crawl goes on. Only objects whose key + ETag the table does not hold yet are
// read (an unchanged lake reads nothing). New columns make a new schema version; type conflicts
// widen (see load/schema_merge.h). Not yet: saved crawlers with schedules and policies, delete
// handling, datetime format detection.

#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "engine/lake_engine.h"
#include "storage/object_store.h"

namespace loch {

struct CrawlRequest {
  std::vector<std::string> prefixes;  // e.g. "raw/"
  std::string database;
};

struct CrawlReport {
  struct TableChange {
    std::string table;  // DB.TABLE
    bool created = false;
    int64_t files_added = 0;
    int64_t rows_added = 0;
    std::vector<std::string> partitions_added;  // "year=2026/month=11/..." newly seen
    std::vector<std::string> columns_added;
    std::vector<std::string> columns_widened;
    int64_t schema_version = 0;
  };
  int64_t objects_listed = 0;
  int64_t objects_read = 0;
  int64_t objects_unchanged = 0;
  std::vector<std::string> skipped;  // "key: reason"
  std::vector<TableChange> tables;
};

class Crawler {
 public:
  Crawler(Catalog& catalog, ObjectStore& store, LakeEngine& engine)
      : catalog_(catalog), store_(store), engine_(engine) {}

  // Crawls `request` for `who`. Fails only for bad arguments (InvalidArgument) or when the catalog
  // or the store cannot be used; problems with single objects are in the report.
  absl::StatusOr<CrawlReport> Crawl(const Principal& who, const CrawlRequest& request);

 private:
  Catalog& catalog_;
  ObjectStore& store_;
  LakeEngine& engine_;
};

// The partition values encoded in the folders between a table's folder and a file, e.g.
// {"region": "eu"} from "region=eu/", or {"year": "2026", "month": "11", ...} from
// "2026/11/26/10/". nullopt if the folders are neither.
std::optional<std::map<std::string, std::string>> PartitionsFromFolders(
    const std::vector<std::string>& folders);

}  // namespace loch
