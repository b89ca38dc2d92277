#pragma once
// The SQLite catalog as a file: consistent copies taken while it is in use, checks of a copy, and
// putting a copy back. The backup format and where copies go are recovery/'s business; this is
// the part that needs SQLite.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace loch {

// Writes a consistent copy of the catalog at `catalog_path` to the new file `out_path` (which must
// not exist): one read transaction (VACUUM INTO), so the copy is the catalog as of one commit.
// Writers are not paused; readers and writers of the catalog go on meanwhile.
absl::Status CopyCatalogFile(const std::string& catalog_path, const std::string& out_path);

// What a catalog file holds, for verifying a copy.
struct CatalogFileSummary {
  int64_t format = 0;  // catalog_meta's format_version
  // SHA-256 (hex) over the schema and every table's rows, tables by name, rows sorted: two files
  // with the same digest hold the same catalog, whatever their page layout. (An integrity check:
  // whoever can write a backup can also write its digest.)
  std::string digest;
  std::map<std::string, int64_t> rows;  // rows per table
  std::vector<std::pair<std::string, int64_t>> streams;  // name and created_micros of each stream
};

// Opens `path` read-only, runs SQLite's integrity check and summarises it, leaving the tables
// `skip_tables` out of the digest and row counts (e.g. TablesOutsideJournal(), to compare a
// catalog with its replay). DataLoss naming the first problem if the file is damaged or not a
// catalog.
absl::StatusOr<CatalogFileSummary> InspectCatalogFile(const std::string& path,
                                                      const std::set<std::string>& skip_tables = {});

// Replaces the content of the catalog at `catalog_path` (created if missing) by that of the file
// `copy_path`, as one write transaction of the catalog: a process that has the catalog open sees
// the old content or the new, never a mix. Callers keep servers away (see recovery/).
absl::Status RestoreCatalogFile(const std::string& copy_path, const std::string& catalog_path);

}  // namespace loch
