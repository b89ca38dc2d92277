#pragma once
// Crawler: turns objects already in the lake (dropped there by ingestion, migrations or other
// teams) into catalog tables, and keeps them current.
//
// For each prefix, the first folder below it names a table; files right under the prefix, or
// partition folders right under it, form a table named after the prefix itself. Folders between the
// table and a file give partition columns: `key=value` (Hive style) or date-shaped `yyyy/mm/dd/hh`
// (year, month, day, hour). Objects are classified by name and first bytes; empty, unknown and
// unreadable objects are reported and skipped while the crawl goes on. New columns make a new
// schema version; string columns holding datetimes are typed DATE/TIMESTAMP with their formats in
// the column's metadata and a raw text companion (`<name>_raw`); changes to existing columns'
// types, objects gone from the store and re-reading follow the request's policies
// (crawl_request.h). Every table change is one catalog commit (with optimistic-concurrency
// retries), so crawls are safe next to loads and other crawls.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "crawl/crawl_report.h"
#include "crawl/crawl_request.h"
#include "engine/lake_engine.h"
#include "storage/object_store.h"

namespace loch {

class Crawler {
 public:
  Crawler(Catalog& catalog, ObjectStore& store, LakeEngine& engine)
      : catalog_(catalog), store_(store), engine_(engine) {}

  // How far a crawl has got: called before and after each table with the bytes of the listed
  // objects of the tables done so far, of all.
  struct Progress {
    size_t tables_done = 0, tables = 0;
    int64_t bytes_done = 0, bytes = 0;
  };
  using ProgressListener = std::function<void(const Progress&)>;

  // Crawls `request` for `who`. Fails only for bad arguments (InvalidArgument; a prefix under
  // tables/, where loch writes its own tables' files, is one) or when the catalog or the store
  // cannot be used; problems with single objects or tables are in the report.
  absl::StatusOr<CrawlReport> Crawl(const Principal& who, const CrawlRequest& request,
                                    const ProgressListener& progress = {});

  // An object just written below a table's folder (e.g. by ingestion) and its partition values,
  // in folder order; for NDJSON, its shape if the writer knows it (reading it costs less then).
  struct NewObject {
    ObjectInfo object;
    std::vector<std::pair<std::string, std::string>> partitions;
    std::optional<JsonShape> shape;
    // The rows the object holds, when its writer knows: an object read with another count is
    // skipped (named in the report) rather than registered with rows missing.
    std::optional<int64_t> expected_rows;
  };
  // Adds `objects` to table `name`, whose files live under `location`, as one commit: creates the
  // table, or merges new columns into its schema (schema-change policy update, datetimes detected
  // as in a crawl). The table's other files stay; an object whose key it already holds replaces
  // that file, so adding the same objects twice never duplicates rows. Returns what changed
  // (nullopt if nothing did); unreadable objects are skipped and named in `report`.
  absl::StatusOr<std::optional<CrawlReport::TableChange>> AddObjects(
      const Principal& who, const TableName& name, const std::string& location,
      const std::vector<NewObject>& objects, CrawlReport& report);

  struct Candidate;

 private:
  // Brings one table up to date with its listed objects; nullopt if nothing changed. `present`:
  // every key the crawl listed; a file the table holds below a crawled prefix but not present is
  // gone from the store. nullptr (additions only): files not among `candidates` are left alone.
  absl::StatusOr<std::optional<CrawlReport::TableChange>> CrawlTable(
      const Principal& who, const CrawlRequest& request, const TableName& name,
      const std::vector<Candidate>& candidates, const std::set<std::string>* present,
      CrawlReport& report);

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
