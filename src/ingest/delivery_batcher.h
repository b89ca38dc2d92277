#pragma once
// DeliveryBatcher: turns a stream's records into the objects that land in the raw zone.
//
// Records are buffered per destination: the values of the stream's partition fields (if any) and
// the UTC hour the record arrived. A buffer that reaches the stream's buffer size is sealed and a
// new one started for its destination. When ShouldFlush says so (a buffer is full, too many are
// open, or the oldest record is older than the stream's interval), TakeAll hands every buffer over
// at once, as NDJSON objects (compressed afterwards with CompressObject, outside the owner's lock):
//   raw/<stream>/[<field>=<value>/...]<yyyy>/<mm>/<dd>/<hh>/<stream>-[<tag>-]<first
//   sequence>.json[.zst|.gz]
// where the optional tag tells apart incarnations of a stream name.
// Records that fail JSON validation or partitioning go to
//   raw/<stream>/<error prefix>/<yyyy>/<mm>/<dd>/<hh>/... as {"error", "sequence", "data"} lines.
// Object keys depend only on the records (sequence, arrival time, content), so delivering the same
// records again after a crash writes the same keys. Not thread-safe (one per stream, under its
// owner's lock).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/stream_config.h"

namespace loch {

// A record as the write-ahead log keeps it. `data` is only read during Add.
struct IngestRecord {
  uint64_t sequence = 0;
  int64_t arrival_micros = 0;  // when it was accepted, UTC
  std::string_view data;
};

struct DeliveryObject {
  std::string key;
  std::string ndjson;  // the records, one per line (from TakeAll)
  std::string body;    // what is stored: `ndjson` compressed (set by CompressObject)
  bool compressed = false;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  size_t records = 0;
  bool errors = false;
  std::map<std::string, std::string> partition_values;  // partition fields + year/month/day/hour
  int refusals = 0;  // deliveries whose table refused it (IngestService)
};

// Why a record with `data` goes to the error prefix of a stream configured as `config` (not valid
// JSON when validated or partitioned; a partition field missing, structured, empty or longer than
// 512 bytes); nullopt if it goes to the table. Parquet conversion can still reject it later.
std::optional<std::string> RecordRejection(const StreamConfig& config, std::string_view data);

class DeliveryBatcher {
 public:
  explicit DeliveryBatcher(StreamConfig config, std::string object_tag = "")
      : config_(std::move(config)), object_tag_(std::move(object_tag)) {}

  // Buffers `record` (or, with the reason, in the error buffer).
  void Add(const IngestRecord& record);
  // True when the buffers should be delivered at `now_micros`.
  bool ShouldFlush(int64_t now_micros) const;
  // Every buffer as an uncompressed object; the batcher is empty afterwards.
  std::vector<DeliveryObject> TakeAll();
  // Gives a delivered object's NDJSON buffer back for reuse: fresh memory costs a page fault per
  // 4 KiB on first write, which at ingestion rates is most of the cost of buffering. Spares are
  // kept as long as the stream is busy, so a stream's spares never outnumber the buffers it had
  // in flight at once (which the service's memory limit bounds); ReleaseSpares when it is idle.
  void Recycle(std::string buffer);
  void ReleaseSpares() { spare_.clear(); }

  bool empty() const { return buffers_.empty() && sealed_.empty(); }
  uint64_t buffered_bytes() const { return buffered_bytes_; }
  int64_t oldest_arrival_micros() const;  // 0 when empty

 private:
  struct Buffer {
    std::string folder;  // key prefix below raw/<stream>/
    std::map<std::string, std::string> partition_values;
    bool errors = false;
    std::string ndjson;
    uint64_t first_sequence = 0, last_sequence = 0;
    size_t records = 0;
    int64_t oldest_micros = 0;
  };
  // The buffer for `folder`, created from `partition_values` if new.
  Buffer& BufferFor(const std::string& folder, bool errors,
                    const std::map<std::string, std::string>& partition_values);
  void Append(Buffer& buffer, const IngestRecord& record, std::string_view line);
  // The hour folder ("yyyy/mm/dd/hh") and values of `micros`, cached for the current hour.
  const std::string& HourFolder(int64_t micros);

  StreamConfig config_;
  std::string object_tag_;
  std::map<std::string, Buffer> buffers_;  // open ones, by folder ("!" + folder for errors)
  std::vector<Buffer> sealed_;             // full ones, waiting for TakeAll
  uint64_t buffered_bytes_ = 0;
  std::vector<std::string> spare_;  // recycled buffers, cleared, capacity kept
  int64_t cached_hour_ = -1;
  std::string hour_folder_;
  std::map<std::string, std::string> hour_values_;
};

// `text` compressed as `compression` (zstd level 1, gzip with its header, or as is).
absl::StatusOr<std::string> Compress(std::string_view text, Compression compression);
// Compress into `out`, reusing its memory (a buffer written before costs no page faults).
absl::Status CompressInto(std::string_view text, Compression compression, std::string& out);
// Sets `object`'s body to its NDJSON compressed (once), in the body's memory. Internal if
// compression fails.
absl::Status CompressObject(DeliveryObject& object, Compression compression);

}  // namespace loch
