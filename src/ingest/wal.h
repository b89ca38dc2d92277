#pragma once
// WriteAheadLog: the durability of ingestion. A record is acknowledged only once it is in a segment
// file on disk and fsynced; appenders that arrive while an fsync runs share the next one (group
// commit), so many concurrent producers cost few fsyncs.
//
// Layout: <dir>/wal-<first sequence, 20 digits>.log segment files. A record is
//   u32 payload length | u32 CRC-32 of (sequence, payload) | u64 sequence | payload
// (little-endian). Sequences start at 1 and grow by one per record, across segments.
// Recovery (Open) reads every segment: a torn or corrupt tail of the newest segment (a crash in the
// middle of a write) is cut off; damage anywhere else is DataLoss naming the file and offset.
// Segments are deleted only by Truncate, once their records are safely elsewhere.
// Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace loch {

struct WalOptions {
  std::string dir;
  uint64_t segment_bytes = 64 << 20;  // a new segment starts once the current one is this big
  uint32_t max_record_bytes = 8 << 20;
  // The sequence of the first record of a log that has no segments yet (a new log, or one whose
  // earlier records all live elsewhere).
  uint64_t first_sequence = 1;
};

struct WalStats {
  uint64_t records = 0;  // appended since Open
  uint64_t bytes = 0;    // written since Open, headers included
  uint64_t fsyncs = 0;
  uint64_t segments = 0;  // on disk now

  // Adds `other`'s counters (records, bytes, fsyncs; not the segments on disk).
  void AddCounters(const WalStats& other) {
    records += other.records;
    bytes += other.bytes;
    fsyncs += other.fsyncs;
  }
};

class WriteAheadLog {
 public:
  // Opens (creating the folder if needed) and recovers the log; see the header comment.
  static absl::StatusOr<std::unique_ptr<WriteAheadLog>> Open(const WalOptions& options);
  ~WriteAheadLog();

  // Appends `payloads` as consecutive records and returns once they are durable. Returns the
  // sequence of the first. InvalidArgument for a record over max_record_bytes (nothing written);
  // a write or fsync failure (disk full, I/O error) is Unavailable and the log refuses further
  // appends (what was acknowledged before stays durable).
  // Each record's payload is `prefix` followed by its entry of `payloads` (a shared header costs
  // no copy).
  absl::StatusOr<uint64_t> Append(const std::vector<std::string_view>& payloads,
                                  std::string_view prefix = {});

  // Calls `visit` for every record with a sequence greater than `after`, in order.
  absl::Status Replay(uint64_t after,
                      const std::function<absl::Status(uint64_t, std::string_view)>& visit) const;

  // Deletes the segments all of whose records have sequences <= `through` (never the one being
  // written).
  absl::Status Truncate(uint64_t through);

  uint64_t last_sequence() const;  // of the newest durable record; 0 when empty
  // OK, or the write/fsync failure that made the log refuse appends (reopening recovers it).
  absl::Status health() const;
  WalStats stats() const;

  struct Segment {
    uint64_t first_sequence;
    std::string path;
  };

 private:
  explicit WriteAheadLog(WalOptions options);
  absl::Status Recover();
  absl::Status StartSegment(uint64_t first_sequence);  // caller holds mu_

  WalOptions options_;
  mutable std::mutex mu_;
  std::condition_variable synced_;
  std::vector<Segment> segments_;  // oldest first; the last one is being written
  int fd_ = -1;                    // of the last segment
  uint64_t segment_size_ = 0;
  uint64_t next_sequence_ = 1;
  uint64_t written_ = 0;  // last sequence written (not necessarily durable)
  uint64_t durable_ = 0;  // last sequence fsynced
  bool syncing_ = false;
  absl::Status failed_;  // sticky write/fsync failure
  WalStats stats_;
};

}  // namespace loch
