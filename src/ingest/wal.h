#pragma once
// WriteAheadLog: the durability of ingestion. A record is acknowledged only once it is in a segment
// file on disk and fsynced; appenders that arrive while an fsync runs share the next one (group
// commit), so many concurrent producers cost few fsyncs.
//
// Layout: <dir>/wal-<first sequence, 20 digits>.log segment files. A record is
//   u32 payload length | u32 CRC-32 of (sequence, payload) | u64 sequence | payload
// (little-endian). Sequences start at 1 and grow by one per record, across segments.
// Recovery (Open) reads every segment: a torn or corrupt tail of the newest segment (a crash in the
// middle of a write) is cut off; damage anywhere else (records missing between one segment's last
// and the next one's first) is DataLoss naming the file and offset.
// Segments leave the log only by Truncate, once their records are safely elsewhere: up to two are
// kept as <dir>/recycled-<n>.wal and reused as later segments (written over from the start: on
// ext4 an fdatasync of overwritten blocks costs ~0.3 ms, of appended ones ~0.55 ms, and every
// acknowledgement waits for one). Their stale bytes after the last record are never mistaken for
// records (the sequence must be the next one and the checksum must match); recovery cuts them.
// Appends either wait for their fsync (Append) or are told once it is done (AppendAsync: the
// log's syncer thread, started by the first, fsyncs while such appends wait and calls them back).
// Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
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

  // Called once an async append is durable, with the sequence of its first record, or with the
  // failure that keeps it from being durable.
  using DurableCallback = std::function<void(const absl::StatusOr<uint64_t>& first)>;
  // Appends like Append but returns as soon as the records are written, without waiting for the
  // fsync. `on_durable` is called exactly once: later (possibly before this returns) on the log's
  // syncer thread, in sequence order, and always before the log is destroyed; or, when nothing
  // could be written (a record too big, a log that already failed), right away on this thread.
  void AppendAsync(const std::vector<std::string_view>& payloads, std::string_view prefix,
                   DurableCallback on_durable);

  // Returns once every async append written before this call has been called back.
  void AwaitCallbacks();

  // Calls `visit` for every record with a sequence greater than `after`, in order.
  absl::Status Replay(uint64_t after,
                      const std::function<absl::Status(uint64_t, std::string_view)>& visit) const;

  // Deletes the segments all of whose records have sequences <= `through` (never the one being
  // written).
  absl::Status Truncate(uint64_t through);

  uint64_t last_sequence() const;  // of the newest durable record; 0 when empty
  uint64_t last_written() const;   // of the newest record written, durable or not
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
  // Writes `payloads` as the next records (caller holds `lock` on mu_); returns the first's
  // sequence.
  absl::StatusOr<uint64_t> Write(std::unique_lock<std::mutex>& lock,
                                 const std::vector<std::string_view>& payloads,
                                 std::string_view prefix);
  // Returns once every record through `sequence` is durable: one appender at a time fsyncs all
  // that is written, the others wait for it (group commit). Caller holds `lock` on mu_.
  absl::Status WaitDurable(std::unique_lock<std::mutex>& lock, uint64_t sequence);
  void RunSyncer();  // the syncer thread: makes async appends durable and calls them back

  struct AsyncWaiter {
    uint64_t first, through;  // sequences of the append's first and last records
    DurableCallback on_durable;
  };

  WalOptions options_;
  mutable std::mutex mu_;
  std::condition_variable synced_;
  std::vector<Segment> segments_;      // oldest first; the last one is being written
  std::vector<std::string> recycled_;  // delivered segments' files, to be written over
  int fd_ = -1;                        // of the last segment
  uint64_t segment_size_ = 0;
  uint64_t next_sequence_ = 1;
  uint64_t written_ = 0;  // last sequence written (not necessarily durable)
  uint64_t durable_ = 0;  // last sequence fsynced
  bool syncing_ = false;
  absl::Status failed_;  // sticky write/fsync failure
  WalStats stats_;
  std::deque<AsyncWaiter> async_waiters_;  // in sequence order
  std::condition_variable syncer_wanted_;  // async waiters, durable_ moved, or closing
  bool calling_back_ = false;              // the syncer is calling back appends
  std::condition_variable called_back_;    // calling_back_ turned false
  bool closing_ = false;
  std::thread syncer_;  // started by the first AppendAsync
};

}  // namespace loch
