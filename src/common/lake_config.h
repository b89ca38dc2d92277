#pragma once
// Where a lake lives and where its local state is kept.
//
// A lake is a local folder ("/srv/lake") or an S3 location ("s3://bucket/prefix"). Its local state
// (catalog, caches, later the WAL) lives in a state folder: <lake>/.loch for a local lake; for an
// S3 lake a folder the user names (--state or LOCH_STATE), which remembers the lake's URL in
// lake.json.

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace loch {

// The curated zone: the tables loch writes (CTAS, INSERT) keep their files under
// tables/<database>/<table>/<write id>/, the write id a NewTimeOrderedId() (common/ids.h).
inline constexpr std::string_view kCuratedZone = "tables/";
// The quarantine zone: rows ETL jobs' checks refused, under quarantine/<database>/<table>/<write
// id>/ (etl/quarantine.h). Like the curated zone, only loch writes there.
inline constexpr std::string_view kQuarantineZone = "quarantine/";
// The archive zone: raw objects a compaction rewrote into the curated zone keep their bytes under
// archive/<original key> (or archive/<write id>/<original key> when that key was taken), named
// by the table's history (lifecycle/compaction.h). Only loch writes there.
inline constexpr std::string_view kArchiveZone = "archive/";
// loch's own metadata in the lake: the catalog's journal under _loch/catalog/
// (recovery/lake_journal.h). Only loch writes there; nothing in it is table data.
inline constexpr std::string_view kSystemZone = "_loch/";
// The zones loch writes its own files into (crawlers skip them).
inline constexpr std::string_view kWrittenZones[] = {kCuratedZone, kQuarantineZone, kArchiveZone,
                                                     kSystemZone};

struct LakeLocation {
  std::string root;       // absolute local path, or "s3://bucket[/prefix]"
  std::string state_dir;  // local state: catalog, caches; absolute

  bool remote() const { return root.starts_with("s3://"); }
  std::string CatalogPath() const { return state_dir + "/catalog.sqlite"; }
  std::string SettingsPath() const { return state_dir + "/lake.json"; }
};

// Resolves the lake from, in order: `lake_flag`, the LOCH_LAKE environment variable, the lake
// recorded in the state folder's lake.json, or "./lake"; and the state folder from `state_flag`,
// LOCH_STATE, or <lake>/.loch for a local lake. InvalidArgument if an S3 lake has no state folder.
absl::StatusOr<LakeLocation> ResolveLakeLocation(
    const std::optional<std::string>& lake_flag,
    const std::optional<std::string>& state_flag = std::nullopt);

}  // namespace loch
