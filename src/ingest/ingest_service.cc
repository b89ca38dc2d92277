#include "ingest/ingest_service.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <future>
#include <set>

#include "common/durable_files.h"
#include "common/logging.h"
#include "common/strings.h"
#include "engine/json_conversion.h"
#include "fmt/format.h"

namespace loch {

class IngestService::Stream {
 public:
  Stream(StreamConfig stream_config, int64_t created, std::string log_dir)
      : config(std::move(stream_config)),
        created_micros(created),
        wal_dir(std::move(log_dir)),
        batcher(config, fmt::format("{:x}", created)) {}

  const StreamConfig config;
  const int64_t created_micros;
  const std::string wal_dir;
  WalOptions wal_options;
  // Appends (and the buffering that follows them) hold it shared; reopening a failed log holds it
  // exclusively.
  std::shared_mutex wal_mu;
  std::unique_ptr<WriteAheadLog> wal;
  WalStats replaced_logs;  // counters of logs reopened after a failure (guarded by wal_mu)

  // Puts hold it shared for their whole call; DeleteStream takes it exclusively.
  std::shared_mutex lifecycle;
  bool deleted = false;  // written under `lifecycle` held exclusively

  // A put's records that became durable before those of an earlier put were buffered: they wait
  // (copied) until the gap is filled, so the batcher takes records in sequence order.
  struct EarlyBatch {
    int64_t arrival_micros;
    std::vector<std::string> records;
    uint64_t bytes;
  };

  // Adds one put's records and any early batches they make next in line. Caller holds `mu`.
  void Buffer(uint64_t first, int64_t arrival, const std::vector<std::string_view>& records,
              uint64_t bytes) {
    for (size_t j = 0; j < records.size(); ++j)
      batcher.Add(IngestRecord{first + j, arrival, records[j]});
    next_to_buffer = first + records.size();
    buffered_payload_bytes += bytes;
    while (!early.empty() && early.begin()->first == next_to_buffer) {
      auto node = early.extract(early.begin());
      const EarlyBatch& batch = node.mapped();
      Buffer(node.key(), batch.arrival_micros,
             std::vector<std::string_view>(batch.records.begin(), batch.records.end()),
             batch.bytes);
    }
  }

  std::mutex mu;                           // guards what follows
  std::condition_variable wake_deliverer;  // something to deliver, or stopping
  std::condition_variable delivered;       // delivered_through moved, or stopping
  DeliveryBatcher batcher;
  uint64_t next_to_buffer = 1;           // the batcher takes records in sequence order
  std::map<uint64_t, EarlyBatch> early;  // by first sequence
  uint64_t delivered_through = 0;
  uint64_t flush_requested_through = 0;
  uint64_t buffered_payload_bytes = 0;  // accepted, not yet delivered (also counted service-wide)
  bool stopping = false;
  bool discarding = false;  // stopping without delivering what is left (a forced delete)
  double flush_seconds_sum = 0;
  absl::Status last_delivery_error;
  std::deque<std::string> last_failures;  // reasons of the latest records that failed, newest last
  std::thread deliverer;
  std::vector<std::string> spare_bodies;  // compressed objects' buffers; deliverer thread only

  std::atomic<uint64_t> records_accepted{0}, bytes_accepted{0}, records_rejected{0},
      bytes_rejected{0}, records_delivered{0}, records_failed{0}, flushes{0}, flush_failures{0};
};

namespace {

constexpr size_t kArrivalBytes = 8;  // a logged record is arrival micros (LE) + the data
constexpr int kDelivererNice = 10;
// A stream that delivered nothing for this long gives its spare buffers back.
constexpr int64_t kReleaseSparesAfterIdleMicros = 60'000'000;

// What the log keeps before every record's data: its arrival time.
std::string ArrivalPrefix(int64_t arrival_micros) {
  std::string out(kArrivalBytes, '\0');
  for (size_t i = 0; i < kArrivalBytes; ++i)
    out[i] = static_cast<char>((static_cast<uint64_t>(arrival_micros) >> (8 * i)) & 0xff);
  return out;
}

absl::StatusOr<IngestRecord> DecodeLogged(uint64_t sequence, std::string_view payload) {
  if (payload.size() < kArrivalBytes) {
    return absl::DataLossError(
        fmt::format("write-ahead log record {} is too short to be a stream record", sequence));
  }
  uint64_t arrival = 0;
  for (size_t i = kArrivalBytes; i-- > 0;)
    arrival = (arrival << 8) | static_cast<unsigned char>(payload[i]);
  return IngestRecord{sequence, static_cast<int64_t>(arrival), payload.substr(kArrivalBytes)};
}

std::string MiB(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

// The delivery hour of an object (partition values year, month, day, hour): the partitions of
// raw.<stream>_errors.
std::vector<std::pair<std::string, std::string>> HourPartitions(
    const std::map<std::string, std::string>& values) {
  std::vector<std::pair<std::string, std::string>> partitions;
  for (const char* name : {"year", "month", "day", "hour"})
    partitions.emplace_back(name, values.at(name));
  return partitions;
}

// Partition values of a delivered object in folder order: the stream's fields, then the hour.
std::vector<std::pair<std::string, std::string>> FolderPartitions(const StreamConfig& config,
                                                                  const DeliveryObject& object) {
  std::vector<std::pair<std::string, std::string>> partitions;
  for (const std::string& field : config.partition_by)
    partitions.emplace_back(field, object.partition_values.at(field));
  for (auto& hour : HourPartitions(object.partition_values)) partitions.push_back(std::move(hour));
  return partitions;
}

// How many reasons of failed records a stream keeps for `stream describe`.
constexpr size_t kFailureReasonsKept = 5;
// Refusals of one object by its table (the delivery retried in between) before its records go to
// the error prefix.
constexpr int kRefusalsBeforeErrorPrefix = 3;

// Adds the reasons of the first records of an error object (NDJSON of {"error", ...}) to
// `reasons`, up to kFailureReasonsKept.
void NoteFailureReasons(std::string_view ndjson, std::vector<std::string>& reasons) {
  while (!ndjson.empty() && reasons.size() < kFailureReasonsKept) {
    const size_t end = ndjson.find('\n');
    const nlohmann::json line =
        nlohmann::json::parse(ndjson.substr(0, end), nullptr, /*allow_exceptions=*/false);
    if (line.is_object() && line.contains("error") && line["error"].is_string())
      reasons.push_back(line["error"].get<std::string>());
    if (end == std::string_view::npos) break;
    ndjson.remove_prefix(end + 1);
  }
}

// Prometheus label value escaping.
std::string Label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

IngestService::IngestService(Catalog& catalog, ObjectStore& store, LakeEngine& engine,
                             Crawler& crawler, IngestOptions options)
    : catalog_(catalog),
      store_(store),
      engine_(engine),
      crawler_(crawler),
      options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<IngestService>> IngestService::Start(Catalog& catalog,
                                                                    ObjectStore& store,
                                                                    LakeEngine& engine,
                                                                    Crawler& crawler,
                                                                    IngestOptions options) {
  if (options.wal_dir.empty())
    return absl::InvalidArgumentError("the ingest service needs a write-ahead log folder");
  RETURN_IF_ERROR(CreateDirectoriesDurably(options.wal_dir));
  std::unique_ptr<IngestService> service(
      new IngestService(catalog, store, engine, crawler, std::move(options)));
  ASSIGN_OR_RETURN(std::vector<SavedStream> saved, catalog.ListStreams(Principal::LocalAdmin()));
  std::set<std::string> live_dirs;
  for (const SavedStream& stream : saved) {
    ASSIGN_OR_RETURN(std::shared_ptr<Stream> opened, service->OpenStream(stream));
    live_dirs.insert(std::filesystem::path(opened->wal_dir).filename().string());
    service->streams_.emplace(stream.name, std::move(opened));
  }
  // Logs of streams deleted while their folder was being removed.
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(service->options_.wal_dir)) {
    if (entry.is_directory() && !live_dirs.contains(entry.path().filename().string())) {
      spdlog::info("ingest: removing the log of a deleted stream: {}", entry.path().string());
      std::filesystem::remove_all(entry.path(), error);
    }
  }
  return service;
}

IngestService::~IngestService() {
  std::map<std::string, std::shared_ptr<Stream>, std::less<>> streams;
  {
    std::lock_guard lock(mu_);
    streams.swap(streams_);
  }
  for (auto& [name, stream] : streams) {
    {
      std::lock_guard lock(stream->mu);
      stream->stopping = true;
    }
    stream->wake_deliverer.notify_all();
    stream->delivered.notify_all();
  }
  for (auto& [name, stream] : streams) {
    if (stream->deliverer.joinable()) stream->deliverer.join();
    std::unique_lock wal_lock(stream->wal_mu);
    stream->wal.reset();  // calls back the puts waiting for their fsync while `this` lives
  }
}

std::string StreamLogFolderName(std::string_view name, int64_t created_micros) {
  return fmt::format("{}-{}", name, created_micros);
}

absl::StatusOr<std::shared_ptr<IngestService::Stream>> IngestService::OpenStream(
    const SavedStream& saved) {
  ASSIGN_OR_RETURN(StreamConfig config, StreamConfigFromJson(saved.config));
  const std::string dir = (std::filesystem::path(options_.wal_dir) /
                           StreamLogFolderName(saved.name, saved.created_micros))
                              .string();
  auto stream = std::make_shared<Stream>(config, saved.created_micros, dir);
  WalOptions wal_options;
  wal_options.dir = dir;
  wal_options.segment_bytes = options_.wal_segment_bytes;
  wal_options.max_record_bytes = options_.max_record_bytes + kArrivalBytes;
  wal_options.first_sequence = static_cast<uint64_t>(saved.delivered_through) + 1;
  stream->wal_options = wal_options;
  ASSIGN_OR_RETURN(stream->wal, WriteAheadLog::Open(wal_options));
  const uint64_t delivered = static_cast<uint64_t>(saved.delivered_through);
  if (stream->wal->last_sequence() < delivered) {
    return absl::DataLossError(fmt::format(
        "stream \"{}\": the catalog says records through {} were delivered but its log in \"{}\" "
        "ends at {}; was the folder changed by hand?",
        saved.name, delivered, dir, stream->wal->last_sequence()));
  }
  stream->delivered_through = delivered;
  stream->next_to_buffer = stream->wal->last_sequence() + 1;
  uint64_t replayed = 0;
  RETURN_IF_ERROR(stream->wal->Replay(delivered, [&](uint64_t sequence, std::string_view payload) {
    ASSIGN_OR_RETURN(IngestRecord record, DecodeLogged(sequence, payload));
    stream->buffered_payload_bytes += record.data.size();
    stream->batcher.Add(record);
    ++replayed;
    return absl::OkStatus();
  }));
  pending_bytes_ += stream->buffered_payload_bytes;
  if (replayed > 0) {
    spdlog::info("ingest: stream {} replays {} acknowledged record(s) ({}) not yet delivered",
                 saved.name, replayed, MiB(stream->buffered_payload_bytes));
    stream->flush_requested_through = stream->next_to_buffer - 1;  // deliver them now
  }
  Stream* raw = stream.get();
  stream->deliverer = std::thread([this, raw] { RunDeliverer(*raw); });
  return stream;
}

absl::StatusOr<std::shared_ptr<IngestService::Stream>> IngestService::Find(
    std::string_view name) const {
  std::lock_guard lock(mu_);
  if (auto it = streams_.find(name); it != streams_.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [known, stream] : streams_) names.push_back(known);
  return absl::NotFoundError(
      fmt::format("unknown stream \"{}\"; {}", name,
                  names.empty() ? "there are no streams yet (create one with `loch stream create`)"
                                : "streams: " + Join(names, ", ")));
}

absl::StatusOr<StreamDescription> IngestService::CreateStream(const Principal& who,
                                                              const StreamConfig& config) {
  RETURN_IF_ERROR(ValidateStreamConfig(config));
  RETURN_IF_ERROR(TableName::Parse(config.TableName()).status());
  if (!config.parquet_table.empty()) {
    ASSIGN_OR_RETURN(TableName target, TableName::Parse(config.parquet_table));
    auto table = catalog_.ReadTable(who, target, std::nullopt);
    if (absl::IsNotFound(table.status())) {
      return absl::InvalidArgumentError(fmt::format(
          "parquet table {} does not exist: create it first (its columns are what records are "
          "converted to), e.g. with CREATE TABLE {} AS SELECT ...",
          config.parquet_table, config.parquet_table));
    }
    RETURN_IF_ERROR(table.status());
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, stream] : streams_) {
      for (const std::string& taken :
           {stream->config.TableName(), stream->config.ErrorsTableName()}) {
        if (taken == config.TableName() || taken == config.ErrorsTableName()) {
          return absl::AlreadyExistsError(fmt::format(
              "stream \"{}\" already delivers into {}; pick another name", name, taken));
        }
      }
    }
  }
  ASSIGN_OR_RETURN(
      SavedStream saved,
      catalog_.CreateStream(who, SavedStream{config.name, StreamConfigToJson(config)}));
  absl::Status registered = RegisterEmptyTable(who, config);
  auto opened =
      registered.ok() ? OpenStream(saved) : absl::StatusOr<std::shared_ptr<Stream>>(registered);
  if (!opened.ok()) {
    (void)catalog_.DeleteStream(who, config.name);
    return opened.status();
  }
  {
    std::lock_guard lock(mu_);
    streams_.emplace(config.name, *opened);
  }
  spdlog::info("ingest: stream {} created (table {})", config.name, config.TableName());
  return DescribeStream(who, config.name);
}

absl::Status IngestService::RegisterEmptyTable(const Principal& who, const StreamConfig& config) {
  // The folders deliveries write (FolderPartitions): fields as text (their values are whatever
  // the records hold), then the delivery hour. Error objects are in hour folders only.
  std::vector<Column> hour;
  for (const char* name : {"year", "month", "day", "hour"}) hour.emplace_back(name, "BIGINT");
  Schema records;
  for (const std::string& field : config.partition_by)
    records.partition_columns.emplace_back(field, "VARCHAR");
  records.partition_columns.insert(records.partition_columns.end(), hour.begin(), hour.end());
  RETURN_IF_ERROR(RegisterEmptyTable(
      who, config.TableName(), fmt::format("raw/{}/", config.name), std::move(records),
      fmt::format("stream {} created; its records arrive here", config.name)));
  Schema errors;
  errors.columns = {Column("error", "VARCHAR", true, "why the record went to the error prefix"),
                    Column("sequence", "BIGINT", true, "the record's sequence in the stream"),
                    Column("data", "VARCHAR", true, "the record as it was sent")};
  errors.partition_columns = hour;
  return RegisterEmptyTable(
      who, config.ErrorsTableName(), fmt::format("raw/{}/{}/", config.name, config.error_prefix),
      std::move(errors),
      fmt::format("stream {} created; its records that fail validation, partitioning or "
                  "conversion arrive here",
                  config.name));
}

absl::Status IngestService::RegisterEmptyTable(const Principal& who, const std::string& name,
                                               const std::string& location, Schema schema,
                                               const std::string& message) {
  ASSIGN_OR_RETURN(TableName table, TableName::Parse(name));
  TableCommit commit;
  commit.table = table;
  commit.base_snapshot = TableCommit::kCreate;
  commit.operation = "create";
  commit.message = message;
  commit.location = location;
  commit.new_schema = std::move(schema);
  RETURN_IF_ERROR(catalog_.CreateDatabase(who, table.database, /*if_not_exists=*/true));
  absl::Status created = catalog_.Commit(who, commit).status();
  // A table an earlier stream of this name delivered into stays, with its data.
  return absl::IsAlreadyExists(created) ? absl::OkStatus() : created;
}

absl::StatusOr<StreamDescription> IngestService::DescribeStream(const Principal&,
                                                                std::string_view name) {
  ASSIGN_OR_RETURN(std::shared_ptr<Stream> stream, Find(name));
  StreamDescription description;
  description.config = stream->config;
  description.created_micros = stream->created_micros;
  {
    std::shared_lock wal_lock(stream->wal_mu);
    description.last_sequence = stream->wal->last_sequence();
  }
  std::lock_guard lock(stream->mu);
  description.delivered_through = stream->delivered_through;
  description.buffered_bytes = stream->buffered_payload_bytes;
  description.oldest_buffered_micros = stream->batcher.oldest_arrival_micros();
  description.records_delivered = stream->records_delivered;
  description.records_failed = stream->records_failed;
  description.last_failures.assign(stream->last_failures.begin(), stream->last_failures.end());
  return description;
}

std::vector<StreamDescription> IngestService::ListStreams(const Principal& who) {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, stream] : streams_) names.push_back(name);
  }
  std::vector<StreamDescription> streams;
  for (const std::string& name : names) {
    if (auto description = DescribeStream(who, name); description.ok())
      streams.push_back(std::move(*description));
  }
  return streams;
}

absl::Status IngestService::DeleteStream(const Principal& who, std::string_view name,
                                         bool discard_undelivered) {
  ASSIGN_OR_RETURN(std::shared_ptr<Stream> stream, Find(name));
  {
    std::unique_lock lifecycle(stream->lifecycle);  // waits for Puts in flight
    if (stream->deleted) return absl::NotFoundError(fmt::format("unknown stream \"{}\"", name));
    stream->deleted = true;
  }
  const absl::Status flushed = Flush(who, name);
  if (!flushed.ok() && !discard_undelivered) {
    std::unique_lock lifecycle(stream->lifecycle);
    stream->deleted = false;  // it stays, and keeps taking records
    return absl::UnavailableError(fmt::format(
        "stream \"{}\" was not deleted: {}; fix that and retry, or delete it discarding its "
        "undelivered records (force)",
        name, ToStd(flushed.message())));
  }
  uint64_t discarded = 0;
  {
    std::lock_guard lock(stream->mu);
    stream->stopping = true;
    stream->discarding = !flushed.ok();
  }
  stream->wake_deliverer.notify_all();
  stream->delivered.notify_all();
  stream->deliverer.join();
  {
    std::lock_guard lock(stream->mu);
    discarded = stream->buffered_payload_bytes;  // what the deliverer left (nothing, unless forced)
    stream->buffered_payload_bytes = 0;
  }
  pending_bytes_ -= discarded;
  if (discarded > 0) {
    spdlog::warn("ingest: stream {}: deleted with {} of undelivered records discarded", name,
                 MiB(discarded));
  }
  RETURN_IF_ERROR(catalog_.DeleteStream(who, name));
  {
    std::lock_guard lock(mu_);
    streams_.erase(streams_.find(name));
  }
  stream->wal.reset();
  std::error_code error;
  std::filesystem::remove_all(stream->wal_dir, error);
  spdlog::info("ingest: stream {} deleted (its table {} stays)", name, stream->config.TableName());
  return absl::OkStatus();
}

absl::Status IngestService::CheckCapacity(uint64_t incoming_bytes) {
  const uint64_t pending = pending_bytes_.load();
  if (pending + incoming_bytes > options_.max_pending_bytes) {
    ++backpressure_rejections_;
    return absl::UnavailableError(fmt::format(
        "delivery is behind: {} accepted but not yet delivered (limit {}); retry shortly",
        MiB(pending), MiB(options_.max_pending_bytes)));
  }
  const int64_t now = NowMicros();
  if (now - disk_checked_micros_.load() > 200000) {
    struct statvfs disk {};
    if (::statvfs(options_.wal_dir.c_str(), &disk) == 0) {
      disk_free_bytes_ = static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize;
    }
    disk_checked_micros_ = now;
  }
  if (disk_free_bytes_.load() < options_.min_free_disk_bytes + incoming_bytes) {
    ++backpressure_rejections_;
    return absl::UnavailableError(fmt::format(
        "the write-ahead log's disk ({}) has {} free and loch keeps {} free; retry once space is "
        "freed",
        options_.wal_dir, MiB(disk_free_bytes_.load()), MiB(options_.min_free_disk_bytes)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PutRecordResult>> IngestService::Put(
    const Principal& who, std::string_view name, const std::vector<std::string_view>& records) {
  std::promise<absl::StatusOr<std::vector<PutRecordResult>>> answer;
  std::future<absl::StatusOr<std::vector<PutRecordResult>>> answered = answer.get_future();
  PutAsync(who, name, records, [&answer](absl::StatusOr<std::vector<PutRecordResult>> results) {
    answer.set_value(std::move(results));
  });
  return answered.get();
}

void IngestService::PutAsync(const Principal&, std::string_view name,
                             const std::vector<std::string_view>& records, PutCallback done) {
  auto found = Find(name);
  if (!found.ok()) return done(found.status());
  std::shared_ptr<Stream> stream = std::move(*found);
  std::shared_lock lifecycle(stream->lifecycle);
  if (stream->deleted) return done(absl::NotFoundError(fmt::format("unknown stream \"{}\"", name)));

  std::vector<PutRecordResult> results(records.size());
  std::vector<size_t> accepted;  // indexes into `records`
  uint64_t bytes = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].size() > options_.max_record_bytes) {
      results[i].status = absl::InvalidArgumentError(
          fmt::format("the record is {} bytes, over the limit of {} bytes", records[i].size(),
                      options_.max_record_bytes));
      ++stream->records_rejected;
      stream->bytes_rejected += records[i].size();
      continue;
    }
    if (stream->config.reject_invalid) {
      if (std::optional<std::string> reason = RecordRejection(stream->config, records[i])) {
        results[i].status = absl::InvalidArgumentError(*reason);
        ++stream->records_rejected;
        stream->bytes_rejected += records[i].size();
        continue;
      }
    }
    accepted.push_back(i);
    bytes += records[i].size();
  }
  if (accepted.empty()) return done(std::move(results));
  if (absl::Status capacity = CheckCapacity(bytes); !capacity.ok()) {
    stream->records_rejected += accepted.size();
    stream->bytes_rejected += bytes;
    return done(capacity);
  }

  bool healthy = false;
  {
    std::shared_lock wal_lock(stream->wal_mu);
    healthy = stream->wal->health().ok();
  }
  if (!healthy) {
    if (absl::Status reopened = ReopenLog(*stream); !reopened.ok()) return done(reopened);
  }
  const int64_t arrival = options_.now_micros();
  std::vector<std::string_view> payloads;
  payloads.reserve(accepted.size());
  for (size_t i : accepted) payloads.push_back(records[i]);
  auto on_durable = [this, stream, arrival, payloads, bytes, accepted = std::move(accepted),
                     results = std::move(results),
                     done = std::move(done)](const absl::StatusOr<uint64_t>& first) mutable {
    if (!first.ok()) {
      stream->records_rejected += accepted.size();
      stream->bytes_rejected += bytes;
      spdlog::error("ingest: stream {}: {}", stream->config.name, ToStd(first.status().message()));
      return done(absl::UnavailableError(fmt::format("the records could not be made durable: {}",
                                                     ToStd(first.status().message()))));
    }
    Acknowledge(*stream, *first, arrival, payloads, bytes);
    const std::string tag = fmt::format("{:x}", stream->created_micros);
    for (size_t j = 0; j < accepted.size(); ++j)
      results[accepted[j]].record_id = fmt::format("{}-{:020}", tag, *first + j);
    done(std::move(results));
  };
  std::shared_lock wal_lock(stream->wal_mu);
  stream->wal->AppendAsync(payloads, ArrivalPrefix(arrival), std::move(on_durable));
}

void IngestService::Acknowledge(Stream& stream, uint64_t first, int64_t arrival,
                                const std::vector<std::string_view>& payloads, uint64_t bytes) {
  pending_bytes_ += bytes;
  bool wake = false;
  {
    std::lock_guard lock(stream.mu);
    // Records enter the batcher in sequence order, so a flush always covers a prefix of the log.
    if (stream.next_to_buffer == first) {
      stream.Buffer(first, arrival, payloads, bytes);
      wake = stream.batcher.ShouldFlush(options_.now_micros());
    } else {
      stream.early.emplace(
          first, Stream::EarlyBatch{
                     arrival, std::vector<std::string>(payloads.begin(), payloads.end()), bytes});
    }
  }
  if (wake) stream.wake_deliverer.notify_one();
  stream.records_accepted += payloads.size();
  stream.bytes_accepted += bytes;
}

absl::Status IngestService::ReopenLog(Stream& stream) {
  std::unique_lock wal_lock(stream.wal_mu);  // no append is between the log and the batcher
  if (stream.wal->health().ok()) return absl::OkStatus();  // another put reopened it
  const std::string failure(ToStd(stream.wal->health().message()));
  stream.replaced_logs.AddCounters(stream.wal->stats());  // they live on in the metrics
  stream.wal.reset();
  auto reopened = WriteAheadLog::Open(stream.wal_options);
  if (!reopened.ok()) {
    return absl::UnavailableError(
        fmt::format("the write-ahead log failed ({}) and cannot be reopened yet: {}", failure,
                    ToStd(reopened.status().message())));
  }
  stream.wal = std::move(*reopened);
  // Records a failed append wrote in full were never acknowledged, but they are in the log now:
  // they join the batcher so that the live batches match what a replay would build.
  std::lock_guard lock(stream.mu);
  uint64_t recovered_bytes = 0;
  RETURN_IF_ERROR(stream.wal->Replay(
      stream.next_to_buffer - 1, [&](uint64_t sequence, std::string_view payload) {
        ASSIGN_OR_RETURN(IngestRecord record, DecodeLogged(sequence, payload));
        recovered_bytes += record.data.size();
        stream.batcher.Add(record);
        return absl::OkStatus();
      }));
  stream.next_to_buffer = stream.wal->last_sequence() + 1;
  stream.buffered_payload_bytes += recovered_bytes;
  pending_bytes_ += recovered_bytes;
  spdlog::warn("ingest: stream {}: reopened its write-ahead log after: {}", stream.config.name,
               failure);
  return absl::OkStatus();
}

absl::Status IngestService::Flush(const Principal&, std::string_view name) {
  ASSIGN_OR_RETURN(std::shared_ptr<Stream> stream, Find(name));
  {
    // Puts already in the log but waiting for their fsync are acknowledged (and buffered) soon.
    std::shared_lock wal_lock(stream->wal_mu);
    stream->wal->AwaitCallbacks();
  }
  std::unique_lock lock(stream->mu);
  const uint64_t target = stream->next_to_buffer - 1;
  const uint64_t failures = stream->flush_failures;
  stream->flush_requested_through = std::max(stream->flush_requested_through, target);
  stream->wake_deliverer.notify_one();
  stream->delivered.wait(lock, [&] {
    return stream->delivered_through >= target || stream->stopping ||
           stream->flush_failures > failures;
  });
  if (stream->delivered_through >= target) return absl::OkStatus();
  if (stream->stopping) {
    return absl::UnavailableError(fmt::format("stream \"{}\" stopped before delivering: {}", name,
                                              stream->last_delivery_error.ok()
                                                  ? "shutting down"
                                                  : ToStd(stream->last_delivery_error.message())));
  }
  return absl::UnavailableError(fmt::format(
      "stream \"{}\" could not deliver its records: {} (they stay in its log; delivery is retried)",
      name, ToStd(stream->last_delivery_error.message())));
}

void IngestService::RunDeliverer(Stream& stream) {
  // Acknowledging puts comes first: compression and the like yield the CPU to request threads
  // (Linux gives each thread its own nice value). Backpressure keeps delivery from falling behind.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kDelivererNice);
  std::unique_lock lock(stream.mu);
  int64_t last_delivery_micros = options_.now_micros();
  while (true) {
    auto due = [&] {
      if (stream.batcher.empty() || stream.discarding) return false;
      return stream.stopping || stream.flush_requested_through > stream.delivered_through ||
             stream.batcher.ShouldFlush(options_.now_micros());
    };
    stream.wake_deliverer.wait_for(lock, options_.tick, [&] { return stream.stopping || due(); });
    if (!due()) {
      if (stream.stopping) return;
      if (options_.now_micros() - last_delivery_micros > kReleaseSparesAfterIdleMicros) {
        stream.batcher.ReleaseSpares();
        stream.spare_bodies.clear();
      }
      continue;
    }
    last_delivery_micros = options_.now_micros();
    std::vector<DeliveryObject> objects = stream.batcher.TakeAll();
    const uint64_t through = stream.next_to_buffer - 1;
    const uint64_t bytes = stream.buffered_payload_bytes;
    stream.buffered_payload_bytes = 0;
    lock.unlock();
    absl::Status delivered;
    for (int attempt = 1;; ++attempt) {
      delivered = Deliver(stream, objects, through);
      if (delivered.ok()) break;
      spdlog::error("ingest: stream {}: delivery through {} failed (attempt {}): {}",
                    stream.config.name, through, attempt, ToStd(delivered.message()));
      if (options_.on_delivery_failed) {
        options_.on_delivery_failed(stream.config.name, through, attempt, delivered);
      }
      std::unique_lock wait_lock(stream.mu);
      ++stream.flush_failures;
      stream.last_delivery_error = delivered;
      stream.delivered.notify_all();  // a Flush waiting for this delivery says why it failed
      if (stream.discarding) break;
      if (stream.stopping && attempt >= 3) break;  // the log keeps the records for the next start
      stream.wake_deliverer.wait_for(wait_lock,
                                     std::chrono::milliseconds(std::min(5000, 200 * attempt)),
                                     [&] { return stream.stopping; });
      if (stream.discarding) break;
    }
    lock.lock();
    if (!delivered.ok()) {
      if (stream.discarding) stream.buffered_payload_bytes += bytes;  // DeleteStream drops them
      return;
    }
    for (DeliveryObject& object : objects) stream.batcher.Recycle(std::move(object.ndjson));
    stream.delivered_through = through;
    stream.last_delivery_error = absl::OkStatus();
    pending_bytes_ -= bytes;
    stream.delivered.notify_all();
  }
}

absl::Status IngestService::Register(Stream& stream, const std::string& table_name,
                                     const std::string& location,
                                     const std::vector<Crawler::NewObject>& objects,
                                     std::vector<std::string>* skipped) {
  if (objects.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(TableName table, TableName::Parse(table_name));
  CrawlReport report;
  RETURN_IF_ERROR(
      crawler_.AddObjects(Principal::LocalAdmin(), table, location, objects, report).status());
  for (const std::string& warning : report.warnings)
    spdlog::warn("ingest: stream {}: {}", stream.config.name, warning);
  if (report.skipped.empty()) return absl::OkStatus();
  if (skipped != nullptr) *skipped = report.skipped;
  // An object the table did not take holds acknowledged records: checkpointing past them would
  // lose them. The delivery fails instead; its records stay in the log and it is retried.
  return absl::UnavailableError(
      fmt::format("{} of {} delivered object(s) could not be added to {} (first: {})",
                  report.skipped.size(), objects.size(), table.ToString(), report.skipped.front()));
}

absl::StatusOr<std::vector<IngestService::Refusal>> IngestService::RefusalsToDivert(
    std::vector<DeliveryObject>& objects, const std::vector<std::string>& refused) {
  std::vector<Refusal> refusals;
  for (DeliveryObject& object : objects) {
    for (const std::string& skipped : refused) {
      if (!skipped.starts_with(object.key + ": ")) continue;
      ++object.refusals;
      refusals.push_back(Refusal{&object, skipped.substr(object.key.size() + 2)});
    }
  }
  // Not yet (retried) when a refusal is not of an object of its own (a Parquet stream's converted
  // file), may still pass, or is of a key the table holds: it would go on naming the object.
  if (refusals.size() != refused.size()) return std::vector<Refusal>();
  for (const Refusal& refusal : refusals) {
    if (refusal.object->refusals < kRefusalsBeforeErrorPrefix) return std::vector<Refusal>();
    ASSIGN_OR_RETURN(std::vector<std::string> known,
                     catalog_.KnownKeys(Principal::LocalAdmin(), refusal.object->key));
    if (std::find(known.begin(), known.end(), refusal.object->key) != known.end())
      return std::vector<Refusal>();
  }
  return refusals;
}

absl::Status IngestService::DivertToErrorPrefix(Stream& stream, const DeliveryObject& object,
                                                std::string_view reason, uint64_t& failed,
                                                std::vector<std::string>& failure_reasons,
                                                std::vector<Crawler::NewObject>& error_objects) {
  const std::string error =
      fmt::format("the table could not read the delivered object holding this record: {}", reason);
  // Its lines are its records in sequence order; their sequences are known when they are
  // consecutive (else NULL).
  const bool consecutive = object.last_sequence - object.first_sequence + 1 == object.records;
  std::string lines;
  uint64_t sequence = object.first_sequence;
  for (std::string_view rest = object.ndjson; !rest.empty(); ++sequence) {
    const size_t end = rest.find('\n');
    lines += nlohmann::json{{"error", error},
                            {"sequence", consecutive ? nlohmann::json(sequence) : nlohmann::json()},
                            {"data", rest.substr(0, end)}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n";
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  }
  const auto& values = object.partition_values;
  const std::string file = object.key.substr(object.key.rfind('/') + 1);
  const std::string error_key = fmt::format(
      "raw/{}/{}/{}/{}/{}/{}/{}-unreadable.json{}", stream.config.name, stream.config.error_prefix,
      values.at("year"), values.at("month"), values.at("day"), values.at("hour"),
      file.substr(0, file.find('.')), CompressionSuffix(stream.config.compression));
  ASSIGN_OR_RETURN(std::string body, Compress(lines, stream.config.compression));
  RETURN_IF_ERROR(store_.Put(error_key, body));
  ASSIGN_OR_RETURN(ObjectInfo error_info, store_.Head(error_key));
  error_objects.push_back(Crawler::NewObject{error_info, HourPartitions(object.partition_values),
                                             std::nullopt, std::nullopt});
  if (absl::Status deleted = store_.Delete(object.key); !deleted.ok() && !absl::IsNotFound(deleted))
    return deleted;
  failed += object.records;
  if (failure_reasons.size() < kFailureReasonsKept) failure_reasons.push_back(error);
  spdlog::warn("ingest: stream {}: {} record(s) its table cannot read went to {} ({})",
               stream.config.name, object.records, error_key, reason);
  return absl::OkStatus();
}

absl::Status IngestService::Deliver(Stream& stream, std::vector<DeliveryObject>& objects,
                                    uint64_t through) {
  Stopwatch stopwatch;
  std::vector<Crawler::NewObject> table_objects;
  std::vector<Crawler::NewObject> error_objects;  // for raw.<stream>_errors
  uint64_t records = 0, raw_bytes = 0, stored_bytes = 0;
  uint64_t failed = 0;  // records that went to the error prefix, not the table
  std::vector<std::string> failure_reasons;
  double compress_ms = 0, store_ms = 0, shape_ms = 0;
  // Storing an object (mostly waiting for the disk or the network) overlaps compressing the next.
  struct Storing {
    DeliveryObject* object;
    std::optional<JsonShape> shape;
    std::future<absl::StatusOr<ObjectInfo>> info;  // its destructor waits for the store
  };
  std::optional<Storing> storing;
  auto finish_storing = [&]() -> absl::Status {
    if (!storing) return absl::OkStatus();
    Storing done = std::move(*storing);
    storing.reset();
    ASSIGN_OR_RETURN(ObjectInfo info, done.info.get());
    DeliveryObject& object = *done.object;
    stored_bytes += object.body.size();
    stream.spare_bodies.push_back(std::move(object.body));  // a retry compresses again
    object.body.clear();
    object.compressed = false;
    if (object.errors) {
      spdlog::warn("ingest: stream {}: {} record(s) failed validation or partitioning; see {}",
                   stream.config.name, object.records, object.key);
      failed += object.records;
      NoteFailureReasons(object.ndjson, failure_reasons);
      error_objects.push_back(Crawler::NewObject{info, HourPartitions(object.partition_values),
                                                 std::nullopt, std::nullopt});
      return absl::OkStatus();
    }
    table_objects.push_back(Crawler::NewObject{info, FolderPartitions(stream.config, object),
                                               std::move(done.shape),
                                               static_cast<int64_t>(object.records)});
    return absl::OkStatus();
  };
  for (DeliveryObject& object : objects) {
    raw_bytes += object.ndjson.size();
    records += object.records;
    if (!stream.config.parquet_table.empty() && !object.errors) {
      RETURN_IF_ERROR(finish_storing());
      Stopwatch converting;
      ASSIGN_OR_RETURN(std::optional<ObjectInfo> converted,
                       ConvertToParquet(stream, object, failed, failure_reasons, error_objects));
      compress_ms += converting.ElapsedMillis();
      if (converted) {
        stored_bytes += converted->size;
        table_objects.push_back(Crawler::NewObject{
            *converted, FolderPartitions(stream.config, object), std::nullopt, std::nullopt});
      }
      continue;
    }
    // Its shape (keys and kinds of values) lets registering skip DuckDB's sniffing of every record.
    Stopwatch shaping;
    std::optional<JsonShape> shape = object.errors ? std::nullopt : ShapeOfNdjson(object.ndjson);
    shape_ms += shaping.ElapsedMillis();
    Stopwatch compressing;
    if (!object.compressed && !stream.spare_bodies.empty()) {
      object.body = std::move(stream.spare_bodies.back());  // written before: no page faults
      stream.spare_bodies.pop_back();
    }
    RETURN_IF_ERROR(CompressObject(object, stream.config.compression));
    compress_ms += compressing.ElapsedMillis();
    RETURN_IF_ERROR(finish_storing());
    storing = Storing{&object, std::move(shape),
                      std::async(std::launch::async, [this, &object, &store_ms] {
                        Stopwatch storing_one;
                        absl::Status put = store_.Put(object.key, object.body);
                        store_ms += storing_one.ElapsedMillis();
                        if (!put.ok()) return absl::StatusOr<ObjectInfo>(put);
                        return store_.Head(object.key);
                      })};
  }
  RETURN_IF_ERROR(finish_storing());
  Stopwatch registering;
  std::vector<std::string> refused;  // "KEY: reason"
  const absl::Status registered =
      Register(stream, stream.config.TableName(), fmt::format("raw/{}/", stream.config.name),
               table_objects, &refused);
  if (!registered.ok()) {
    if (refused.empty()) return registered;
    ASSIGN_OR_RETURN(std::vector<Refusal> refusals, RefusalsToDivert(objects, refused));
    if (refusals.empty()) return registered;  // retried: a transient failure passes
    for (const Refusal& refusal : refusals) {
      RETURN_IF_ERROR(DivertToErrorPrefix(stream, *refusal.object, refusal.reason, failed,
                                          failure_reasons, error_objects));
    }
  }
  RETURN_IF_ERROR(Register(
      stream, stream.config.ErrorsTableName(),
      fmt::format("raw/{}/{}/", stream.config.name, stream.config.error_prefix), error_objects));
  const double register_ms = registering.ElapsedMillis();
  absl::Status checkpoint =
      catalog_.SetStreamDelivered(Principal::LocalAdmin(), stream.config.name,
                                  stream.created_micros, static_cast<int64_t>(through));
  if (!checkpoint.ok() && !absl::IsNotFound(checkpoint)) return checkpoint;  // NotFound: deleted
  {
    std::shared_lock wal_lock(stream.wal_mu);
    RETURN_IF_ERROR(stream.wal->Truncate(through));
  }
  const double seconds = stopwatch.ElapsedMillis() / 1000;
  {
    std::lock_guard lock(stream.mu);
    stream.flush_seconds_sum += seconds;
  }
  {
    std::lock_guard lock(stream.mu);
    for (std::string& reason : failure_reasons) {
      stream.last_failures.push_back(std::move(reason));
      if (stream.last_failures.size() > kFailureReasonsKept) stream.last_failures.pop_front();
    }
  }
  ++stream.flushes;
  stream.records_delivered += records - failed;
  stream.records_failed += failed;
  spdlog::info(
      "ingest: flush stream={} objects={} records={} bytes={} stored_bytes={} seconds={:.3f} "
      "shape_s={:.3f} compress_s={:.3f} store_s={:.3f} register_s={:.3f} delivered_through={}",
      stream.config.name, objects.size(), records, raw_bytes, stored_bytes, seconds,
      shape_ms / 1000, compress_ms / 1000, store_ms / 1000, register_ms / 1000, through);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ObjectInfo>> IngestService::ConvertToParquet(
    Stream& stream, const DeliveryObject& object, uint64_t& failed,
    std::vector<std::string>& failure_reasons, std::vector<Crawler::NewObject>& error_objects) {
  ASSIGN_OR_RETURN(TableName name, TableName::Parse(stream.config.parquet_table));
  ASSIGN_OR_RETURN(TableSnapshot target,
                   catalog_.ReadTable(Principal::LocalAdmin(), name, std::nullopt));
  // raw/<stream>/<folders>/<name>.json[.zst] -> the same place, as .parquet.
  const std::string stem = object.key.substr(0, object.key.rfind(".json"));
  const std::string key = stem + ".parquet";
  ASSIGN_OR_RETURN(LakeEngine::JsonConversion conversion,
                   engine_.ConvertJsonToParquet(
                       object.ndjson, ConversionColumns(target.table.schema),
                       [&](const std::string& path, int64_t rows) {
                         return rows == 0 ? absl::OkStatus() : store_.PutFile(key, path);
                       }));
  if (!conversion.rejected.empty()) {
    // Records that do not fit the table: with their reasons, under the error prefix.
    std::string lines;
    failed += conversion.rejected.size();
    for (const auto& [record, reason] : conversion.rejected) {
      if (failure_reasons.size() < kFailureReasonsKept) failure_reasons.push_back(reason);
      lines += nlohmann::json{{"error", reason}, {"data", record}}.dump(
                   -1, ' ', false, nlohmann::json::error_handler_t::replace) +
               "\n";
    }
    const auto& values = object.partition_values;
    const std::string error_key =
        fmt::format("raw/{}/{}/{}/{}/{}/{}/{}-conversion.json{}", stream.config.name,
                    stream.config.error_prefix, values.at("year"), values.at("month"),
                    values.at("day"), values.at("hour"), stem.substr(stem.rfind('/') + 1),
                    CompressionSuffix(stream.config.compression));
    ASSIGN_OR_RETURN(std::string body, Compress(lines, stream.config.compression));
    RETURN_IF_ERROR(store_.Put(error_key, body));
    ASSIGN_OR_RETURN(ObjectInfo error_info, store_.Head(error_key));
    error_objects.push_back(Crawler::NewObject{error_info, HourPartitions(object.partition_values),
                                               std::nullopt, std::nullopt});
    spdlog::warn("ingest: stream {}: {} record(s) do not fit {}; see {}", stream.config.name,
                 conversion.rejected.size(), name.ToString(), error_key);
  }
  if (conversion.rows == 0) return std::optional<ObjectInfo>();
  ASSIGN_OR_RETURN(ObjectInfo info, store_.Head(key));
  return std::optional<ObjectInfo>(info);
}

std::string IngestService::PrometheusMetrics() const {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, stream] : streams_) streams.push_back(stream);
  }
  struct Metric {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(Stream&, const WalStats&)> value;
  };
  const int64_t now = options_.now_micros();
  const std::vector<Metric> metrics = {
      {"loch_ingest_records_accepted_total", "counter", "Records acknowledged (durable).",
       [](Stream& s, const WalStats&) { return s.records_accepted.load(); }},
      {"loch_ingest_bytes_accepted_total", "counter", "Bytes of acknowledged records.",
       [](Stream& s, const WalStats&) { return s.bytes_accepted.load(); }},
      {"loch_ingest_records_rejected_total", "counter",
       "Records refused (too large, backpressure, log failure).",
       [](Stream& s, const WalStats&) { return s.records_rejected.load(); }},
      {"loch_ingest_bytes_rejected_total", "counter", "Bytes of refused records.",
       [](Stream& s, const WalStats&) { return s.bytes_rejected.load(); }},
      {"loch_ingest_records_delivered_total", "counter", "Records committed in the lake.",
       [](Stream& s, const WalStats&) { return s.records_delivered.load(); }},
      {"loch_ingest_records_failed_total", "counter",
       "Records acknowledged but not added to the table (not JSON, no partition field, not "
       "fitting the Parquet table); kept with their reasons under the error prefix.",
       [](Stream& s, const WalStats&) { return s.records_failed.load(); }},
      {"loch_wal_fsyncs_total", "counter", "fsyncs of the stream's write-ahead log.",
       [](Stream&, const WalStats& wal) { return wal.fsyncs; }},
      {"loch_wal_bytes_total", "counter", "Bytes written to the stream's write-ahead log.",
       [](Stream&, const WalStats& wal) { return wal.bytes; }},
      {"loch_wal_segments", "gauge", "Write-ahead log segment files on disk.",
       [](Stream&, const WalStats& wal) { return wal.segments; }},
      {"loch_ingest_flushes_total", "counter", "Deliveries of buffers into the lake.",
       [](Stream& s, const WalStats&) { return s.flushes.load(); }},
      {"loch_ingest_flush_failures_total", "counter", "Delivery attempts that failed (retried).",
       [](Stream& s, const WalStats&) { return s.flush_failures.load(); }},
      {"loch_ingest_flush_seconds_sum", "counter", "Total time spent delivering.",
       [](Stream& s, const WalStats&) {
         std::lock_guard lock(s.mu);
         return s.flush_seconds_sum;
       }},
      {"loch_ingest_buffered_bytes", "gauge", "Bytes accepted and not yet delivered.",
       [](Stream& s, const WalStats&) {
         std::lock_guard lock(s.mu);
         return s.buffered_payload_bytes;
       }},
      {"loch_ingest_oldest_unflushed_record_age_seconds", "gauge",
       "Age of the oldest record waiting in a buffer (0 when empty).",
       [now](Stream& s, const WalStats&) {
         std::lock_guard lock(s.mu);
         const int64_t oldest = s.batcher.oldest_arrival_micros();
         return oldest == 0 ? 0.0 : static_cast<double>(now - oldest) / 1e6;
       }},
  };
  std::vector<WalStats> wal_stats;
  for (const auto& stream : streams) {
    std::shared_lock wal_lock(stream->wal_mu);
    WalStats stats = stream->wal->stats();
    stats.AddCounters(stream->replaced_logs);
    wal_stats.push_back(stats);
  }
  std::string out;
  for (const Metric& metric : metrics) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", metric.name, metric.help, metric.name,
                       metric.type);
    for (size_t i = 0; i < streams.size(); ++i) {
      out += fmt::format("{}{{stream=\"{}\"}} {}\n", metric.name, Label(streams[i]->config.name),
                         metric.value(*streams[i], wal_stats[i]));
    }
  }
  out += fmt::format(
      "# HELP loch_ingest_pending_bytes Bytes accepted by all streams and not yet delivered.\n"
      "# TYPE loch_ingest_pending_bytes gauge\nloch_ingest_pending_bytes {}\n"
      "# HELP loch_ingest_pending_limit_bytes Above this, puts are refused (503).\n"
      "# TYPE loch_ingest_pending_limit_bytes gauge\nloch_ingest_pending_limit_bytes {}\n"
      "# HELP loch_ingest_backpressure_rejections_total Puts refused by backpressure.\n"
      "# TYPE loch_ingest_backpressure_rejections_total counter\n"
      "loch_ingest_backpressure_rejections_total {}\n",
      pending_bytes_.load(), options_.max_pending_bytes, backpressure_rejections_.load());
  return out;
}

}  // namespace loch
