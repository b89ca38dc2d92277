#pragma once
// IngestService: delivery streams from acknowledgement to queryable table.
//
// Put appends a call's records to the stream's write-ahead log and returns once they are fsynced
// (concurrent calls share fsyncs); only then are they acknowledged. PutAsync does the same
// without blocking its caller: it is called back once the records are durable. The records then
// wait in the stream's DeliveryBatcher. One deliverer thread per stream flushes the batcher when it
// says so (size, age, open partitions) or on request: it compresses the objects, stores them at
// their deterministic keys, adds them to the stream's table `raw.<stream>` (one catalog commit
// through Crawler::AddObjects, new fields becoming new columns), records in the catalog how far the
// log is delivered, and only then deletes log segments. A flush that fails is retried with the same
// objects until it succeeds.
//
// Exactly once across crashes: Start replays every logged record after the stream's delivered
// checkpoint. The first flush after a checkpoint always starts at the checkpoint, so a flush cut
// short by a crash is redone with the same object keys (each buffer is named by its first
// sequence) holding at least the same records; the table's entry for a key is replaced, never
// duplicated.
//
// Backpressure: Put fails with Unavailable, acknowledging nothing, when the records accepted but
// not yet delivered exceed `max_pending_bytes` (which also bounds the memory the buffers hold),
// when the log's disk has less than `min_free_disk_bytes` free, or when the log cannot be written.
//
// Thread-safe. Errors: NotFound (unknown stream; the message lists what exists), AlreadyExists,
// InvalidArgument (bad configuration or call), Unavailable (backpressure, log failure).

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "crawl/crawler.h"
#include "engine/lake_engine.h"
#include "ingest/delivery_batcher.h"
#include "ingest/stream_config.h"
#include "ingest/wal.h"
#include "storage/object_store.h"

namespace loch {

struct IngestOptions {
  std::string wal_dir;  // one folder per stream below it
  uint64_t max_pending_bytes = 1ull << 30;
  uint64_t min_free_disk_bytes = 256ull << 20;
  uint64_t wal_segment_bytes = 64ull << 20;
  uint32_t max_record_bytes = 1000 * 1024;  // Firehose's limit for one record
  std::chrono::milliseconds tick{100};      // how often deliverers look at their buffers' age
  std::function<int64_t()> now_micros = NowMicros;
  // Called (on the stream's deliverer thread, between attempts) when a delivery attempt fails;
  // the attempt is retried after it returns.
  std::function<void(const std::string& stream, uint64_t through, int attempt,
                     const absl::Status& error)>
      on_delivery_failed;
};

// The outcome of one record of a Put, in the call's order.
struct PutRecordResult {
  std::string record_id;  // set when accepted
  absl::Status status;    // InvalidArgument for a record that was refused
};

// A stream as the APIs show it.
struct StreamDescription {
  StreamConfig config;
  int64_t created_micros = 0;
  uint64_t last_sequence = 0;      // of the newest acknowledged record
  uint64_t delivered_through = 0;  // committed in the lake up to this sequence
  uint64_t buffered_bytes = 0;
  int64_t oldest_buffered_micros = 0;  // arrival of the oldest undelivered record; 0 if none
  // Since the server started: records added to the table, and records that went to the error
  // prefix instead (with the reasons of the latest few, oldest first).
  uint64_t records_delivered = 0;
  uint64_t records_failed = 0;
  std::vector<std::string> last_failures;
};

// The folder, under IngestOptions::wal_dir, of the log of the stream `name` created at
// `created_micros` (SavedStream).
std::string StreamLogFolderName(std::string_view name, int64_t created_micros);

class IngestService {
 public:
  // Opens every stream in the catalog, replays their logs past the delivered checkpoints and
  // starts their deliverers. `catalog`, `store`, `engine` and `crawler` must outlive the service.
  static absl::StatusOr<std::unique_ptr<IngestService>> Start(Catalog& catalog, ObjectStore& store,
                                                              LakeEngine& engine, Crawler& crawler,
                                                              IngestOptions options);
  // Refuses new records, delivers what is buffered (best effort) and stops the deliverers.
  ~IngestService();

  // Saves the stream and registers its table `raw.<stream>` at once, empty (its partition columns
  // only; the records' fields become columns as they are delivered).
  absl::StatusOr<StreamDescription> CreateStream(const Principal& who, const StreamConfig& config);
  absl::StatusOr<StreamDescription> DescribeStream(const Principal& who, std::string_view name);
  std::vector<StreamDescription> ListStreams(const Principal& who);
  // Delivers what the stream holds, then deletes it and its log. Its table and objects stay. If
  // delivering fails, the stream stays (Unavailable, naming the failure), unless
  // `discard_undelivered`: then the records it could not deliver are dropped with the log.
  absl::Status DeleteStream(const Principal& who, std::string_view name,
                            bool discard_undelivered = false);

  // Appends `records` durably; see the header comment. A record over `max_record_bytes` fails on
  // its own (the others go in); the call fails as a whole only for an unknown stream or
  // backpressure.
  absl::StatusOr<std::vector<PutRecordResult>> Put(const Principal& who, std::string_view stream,
                                                   const std::vector<std::string_view>& records);

  // Put without waiting: `done` gets what Put would return, exactly once, either right away on
  // this thread (a refused call, no record accepted, a log that cannot be written) or, once the
  // records are durable (or the fsync failed), on the stream's log syncer thread; it must not
  // block. `records` must stay valid until `done` is called.
  using PutCallback = std::function<void(absl::StatusOr<std::vector<PutRecordResult>>)>;
  void PutAsync(const Principal& who, std::string_view stream,
                const std::vector<std::string_view>& records, PutCallback done);

  // Delivers everything the stream has acknowledged so far and returns once it is in the table.
  // Unavailable, with the reason, if a delivery attempt fails meanwhile (the records stay in the
  // log and delivery keeps being retried).
  absl::Status Flush(const Principal& who, std::string_view stream);

  // Every stream's counters in the Prometheus text format (version 0.0.4).
  std::string PrometheusMetrics() const;

  const IngestOptions& options() const { return options_; }

  class Stream;

 private:
  IngestService(Catalog& catalog, ObjectStore& store, LakeEngine& engine, Crawler& crawler,
                IngestOptions options);
  absl::StatusOr<std::shared_ptr<Stream>> OpenStream(const SavedStream& saved);
  // Registers the stream's table, empty, so that it can be queried before the first delivery
  // (kept if it exists).
  // Registers the stream's tables (records, errors) empty, so they can be queried at once; tables
  // an earlier stream of the name left stay as they are.
  absl::Status RegisterEmptyTable(const Principal& who, const StreamConfig& config);
  absl::Status RegisterEmptyTable(const Principal& who, const std::string& name,
                                  const std::string& location, Schema schema,
                                  const std::string& message);
  absl::StatusOr<std::shared_ptr<Stream>> Find(std::string_view name) const;
  absl::Status CheckCapacity(uint64_t incoming_bytes);
  // Counts one put's durable records as accepted and hands them to the stream's batcher.
  void Acknowledge(Stream& stream, uint64_t first, int64_t arrival,
                   const std::vector<std::string_view>& payloads, uint64_t bytes);
  // Replaces a log that refused appends (a full disk, an I/O error) by a recovered one.
  absl::Status ReopenLog(Stream& stream);
  // The stream's deliverer thread: flushes when due, retries failed deliveries.
  void RunDeliverer(Stream& stream);
  // Adds a flush's `objects` to `table_name` (stored below `location`). Unavailable if the table
  // did not take every one of them (an object it could not read): the flush must not checkpoint.
  // Those are listed in `skipped` ("KEY: reason") when it is given.
  absl::Status Register(Stream& stream, const std::string& table_name, const std::string& location,
                        const std::vector<Crawler::NewObject>& objects,
                        std::vector<std::string>* skipped = nullptr);
  // Of the objects a flush's table refused (`refused`, "KEY: reason"), counted on each object: the
  // ones whose records go to the error prefix now. Empty while one of them may still pass: each
  // was refused kRefusalsBeforeErrorPrefix times, is an object of the flush, and its key is in no
  // table (a table holding it would still name the object).
  struct Refusal {
    DeliveryObject* object;
    std::string reason;
  };
  absl::StatusOr<std::vector<Refusal>> RefusalsToDivert(std::vector<DeliveryObject>& objects,
                                                        const std::vector<std::string>& refused);
  // An object its table refused on attempt after attempt (a record DuckDB cannot read, e.g. with
  // a repeated key): its records go under the error prefix, each with `reason`, and the object is
  // deleted, so that one such record does not stop the stream. Counts them in `failed`.
  absl::Status DivertToErrorPrefix(Stream& stream, const DeliveryObject& object,
                                   std::string_view reason, uint64_t& failed,
                                   std::vector<std::string>& failure_reasons,
                                   std::vector<Crawler::NewObject>& error_objects);
  // Stores, registers and checkpoints one flush; the log is truncated through `through` after.
  absl::Status Deliver(Stream& stream, std::vector<DeliveryObject>& objects, uint64_t through);
  // A stream with a Parquet table: stores `object`'s records as Parquet next to where the NDJSON
  // would go, and the ones that do not fit under the error prefix. The Parquet object, if any.
  // Records that do not fit are counted in `failed`, a few of their reasons in `failure_reasons`,
  // and their error object joins `error_objects`.
  absl::StatusOr<std::optional<ObjectInfo>> ConvertToParquet(
      Stream& stream, const DeliveryObject& object, uint64_t& failed,
      std::vector<std::string>& failure_reasons, std::vector<Crawler::NewObject>& error_objects);

  Catalog& catalog_;
  ObjectStore& store_;
  LakeEngine& engine_;
  Crawler& crawler_;
  IngestOptions options_;
  mutable std::mutex mu_;  // guards streams_
  std::map<std::string, std::shared_ptr<Stream>, std::less<>> streams_;
  std::atomic<uint64_t> pending_bytes_{0};
  std::atomic<uint64_t> backpressure_rejections_{0};
  std::atomic<int64_t> disk_checked_micros_{0};
  std::atomic<uint64_t> disk_free_bytes_{UINT64_MAX};
};

}  // namespace loch
