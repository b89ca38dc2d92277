#include "lifecycle/vacuum.h"

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/ids.h"
#include "common/lake_config.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

constexpr size_t kDeleteBatch = 1000;
constexpr size_t kFailuresShown = 5;

// Whether the object at `a` holds the bytes of the object at `b` (read in slices). NotFound if
// there is no object at `a`; DataLoss if `b` cannot be read.
absl::StatusOr<bool> SameBytes(ObjectStore& store, const std::string& a, const std::string& b) {
  constexpr uint64_t kSlice = 8 << 20;
  ASSIGN_OR_RETURN(ObjectInfo first, store.Head(a));
  absl::StatusOr<ObjectInfo> second = store.Head(b);
  if (!second.ok()) {
    return absl::DataLossError(
        fmt::format("its copy \"{}\" cannot be read: {}", b, ToStd(second.status().message())));
  }
  if (first.size != second->size) return false;
  for (uint64_t offset = 0; offset < first.size; offset += kSlice) {
    ASSIGN_OR_RETURN(std::string left, store.GetRange(a, offset, kSlice));
    absl::StatusOr<std::string> right = store.GetRange(b, offset, kSlice);
    if (!right.ok()) {
      return absl::DataLossError(
          fmt::format("its copy \"{}\" cannot be read: {}", b, ToStd(right.status().message())));
    }
    if (left != *right) return false;
  }
  return true;
}

// Deletes the queued objects, in batches, forgetting each batch once it is gone. An object that
// cannot be deleted stays queued for the next run.
absl::Status DeleteQueued(Catalog& catalog, ObjectStore& store, const Principal& who,
                          const VacuumOptions& options, VacuumReport& report) {
  std::set<std::string> failed;
  size_t done = 0;
  const size_t total = report.expired.to_delete.size();
  while (true) {
    ASSIGN_OR_RETURN(std::vector<ObjectRef> queued,
                     catalog.PendingDeletes(who, kDeleteBatch + failed.size()));
    std::vector<std::string> deleted;
    for (const ObjectRef& file : queued) {
      if (failed.contains(file.key)) continue;
      if (!file.same_as.empty()) {  // other bytes written there since: no longer ours
        auto same = SameBytes(store, file.key, file.same_as);
        if (!same.ok() && !absl::IsNotFound(same.status())) {
          failed.insert(file.key);
          if (report.failures.size() < kFailuresShown) {
            report.failures.push_back(
                fmt::format("{}: {}", file.key, ToStd(same.status().message())));
          }
          continue;
        }
        if (same.ok() && !*same) {
          deleted.push_back(file.key);
          ++report.replaced_kept;
          continue;
        }
      }
      const absl::Status removed = store.Delete(file.key);
      if (!removed.ok()) {
        failed.insert(file.key);
        if (report.failures.size() < kFailuresShown)
          report.failures.push_back(fmt::format("{}: {}", file.key, ToStd(removed.message())));
        continue;
      }
      deleted.push_back(file.key);
      ++report.objects_deleted;
      report.bytes_deleted += file.size_bytes;
      if (options.progress) options.progress(++done, std::max(total, done));
    }
    if (deleted.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(catalog.ForgetPendingDeletes(who, deleted));
  }
}

// The zone loch wrote `key` into, if any.
std::optional<std::string_view> WrittenZoneOf(std::string_view key) {
  for (std::string_view zone : kWrittenZones) {
    if (key.starts_with(zone)) return zone;
  }
  return std::nullopt;
}

// When the write that made `key` began, if loch wrote it (a CTAS, INSERT or job output, or a
// job's quarantined rows: <zone><db>/<table>/<write id>/...).
std::optional<int64_t> WriteStartOf(std::string_view key) {
  const std::optional<std::string_view> zone = WrittenZoneOf(key);
  if (!zone) return std::nullopt;
  const std::vector<std::string_view> segments = Split(key.substr(zone->size()), '/');
  if (segments.size() < 4) return std::nullopt;
  return TimeOrderedIdMicros(segments[2]);
}

absl::Status SweepOrphansUnder(Catalog& catalog, ObjectStore& store, const Principal& who,
                               const VacuumOptions& options, int64_t cutoff,
                               const std::string& prefix, VacuumReport& report);

// Objects of writes into the curated zone (or the table's location in it) that no table names.
// Not the quarantine zone: a job run's staged quarantine files are named only by its run record
// until the job's next run commits them (etl/quarantine.h).
absl::Status SweepOrphans(Catalog& catalog, ObjectStore& store, const Principal& who,
                          const VacuumOptions& options, int64_t cutoff, VacuumReport& report) {
  std::string prefix(kCuratedZone);
  if (options.table.has_value()) {
    ASSIGN_OR_RETURN(TableSnapshot table, catalog.ReadTable(who, *options.table, std::nullopt));
    if (!table.table.location.starts_with(kCuratedZone)) return absl::OkStatus();
    prefix = table.table.location;
  }
  return SweepOrphansUnder(catalog, store, who, options, cutoff, prefix, report);
}

absl::Status SweepOrphansUnder(Catalog& catalog, ObjectStore& store, const Principal& who,
                               const VacuumOptions& options, int64_t cutoff,
                               const std::string& prefix, VacuumReport& report) {
  // Listed first: an object written after the listing is not looked at, and one committed between
  // the listing and KnownKeys is known.
  ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, ListAll(store, prefix));
  ASSIGN_OR_RETURN(std::vector<std::string> known_keys, catalog.KnownKeys(who, prefix));
  const std::set<std::string> known(known_keys.begin(), known_keys.end());
  // Both the write's own clock (its id) and the store's must say it is old.
  const int64_t orphan_before = std::min(cutoff, NowMicros() - kOrphanMinAgeMicros);
  for (const ObjectInfo& object : objects) {
    const std::optional<int64_t> write_start = WriteStartOf(object.key);
    if (!write_start || *write_start >= orphan_before || object.modified_micros >= orphan_before ||
        known.contains(object.key)) {
      continue;
    }
    if (!options.dry_run) {
      const absl::Status removed = store.Delete(object.key);
      if (!removed.ok()) {
        if (report.failures.size() < kFailuresShown)
          report.failures.push_back(fmt::format("{}: {}", object.key, ToStd(removed.message())));
        continue;
      }
    }
    ++report.orphans_deleted;
    report.orphan_bytes += static_cast<int64_t>(object.size);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ParseRetention(std::string_view text) {
  return ParseDurationMicros(text, "retention");
}

absl::StatusOr<VacuumReport> Vacuum(Catalog& catalog, ObjectStore& store, const Principal& who,
                                    const VacuumOptions& options) {
  if (options.retain_micros < 0) return absl::InvalidArgumentError("retention is negative");
  if (options.retain_micros < kMinSafeRetainMicros && !options.force) {
    return absl::InvalidArgumentError(
        "a retention under 1h can delete files that queries which began before an overwrite "
        "are still reading; pass --force to vacuum with it anyway");
  }
  const int64_t cutoff = NowMicros() - options.retain_micros;
  VacuumReport report;
  ASSIGN_OR_RETURN(report.expired,
                   catalog.ExpireFiles(who, ExpiryRequest{cutoff, options.table, options.dry_run}));
  if (!options.dry_run) RETURN_IF_ERROR(DeleteQueued(catalog, store, who, options, report));
  RETURN_IF_ERROR(SweepOrphans(catalog, store, who, options, cutoff, report));
  if (!options.dry_run && !options.table.has_value()) {
    ASSIGN_OR_RETURN(report.temporaries_removed,
                     store.RemoveAbandonedTemporaries(NowMicros() - kOrphanMinAgeMicros));
  }
  return report;
}

}  // namespace loch
