#include "cli/stream_commands.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <iterator>
#include <thread>

#include "cli/result_writer.h"
#include "common/lake_config.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "ingest/decompress.h"
#include "ingest/json_check.h"
#include "ingest/stream_config.h"
#include "nlohmann/json.hpp"
#include "server/admin_credentials.h"
#include "server/stream_api.h"

namespace loch::cli {
namespace {

using nlohmann::json;

// The running server's native API, as the lake's admin.
class ServerClient {
 public:
  static absl::StatusOr<ServerClient> Connect(const CommonOptions& common,
                                              const ServerOptions& server) {
    ASSIGN_OR_RETURN(LakeLocation location, ResolveLakeLocation(common.lake, common.state));
    ASSIGN_OR_RETURN(AdminCredentials credentials, LoadAdminCredentials(location.state_dir));
    std::string url = server.server.value_or("");
    if (url.empty()) {
      const char* env = std::getenv("LOCH_SERVER");
      url = env != nullptr ? env : "http://127.0.0.1:8080";
    }
    while (url.ends_with('/')) url.pop_back();
    std::string ca_file = server.ca_file.value_or("");
    if (ca_file.empty()) {
      const char* env = std::getenv("LOCH_CA_FILE");
      ca_file = env != nullptr ? env : "";
    }
    return ServerClient(url, credentials.token, ca_file);
  }

  // Sends the request; a non-2xx answer becomes the Status its error JSON describes.
  absl::StatusOr<json> Call(const std::string& method, const std::string& path,
                            const std::string& body = "",
                            const std::string& content_type = "application/json") {
    httplib::Client client(url_);
    if (!ca_file_.empty()) client.set_ca_cert_path(ca_file_.c_str());
    client.enable_server_certificate_verification(true);
    client.set_read_timeout(std::chrono::minutes(10));
    client.set_tcp_nodelay(true);
    const httplib::Headers headers = {{"Authorization", "Bearer " + token_}};
    httplib::Result result = method == "GET"      ? client.Get(path, headers)
                             : method == "DELETE" ? client.Delete(path, headers)
                                                  : client.Post(path, headers, body, content_type);
    if (!result && (result.error() == httplib::Error::SSLServerVerification ||
                    result.error() == httplib::Error::SSLConnection)) {
      return absl::UnavailableError(fmt::format(
          "cannot reach the loch server at {} over TLS ({}): is its certificate signed by a CA "
          "this machine trusts? Pass --ca-file (or set LOCH_CA_FILE) with the server's CA, e.g. "
          "<state>/tls/ca.pem of `loch serve --tls-self-signed`",
          url_, httplib::to_string(result.error())));
    }
    if (!result) {
      return absl::UnavailableError(fmt::format(
          "cannot reach the loch server at {} ({}); start it with `loch serve` or pass --server",
          url_, httplib::to_string(result.error())));
    }
    json answer = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    if (result->status >= 200 && result->status < 300) return answer;
    std::string message = fmt::format("HTTP {}", result->status);
    if (answer.is_object() && answer.contains("error"))
      message = answer["error"].value("message", message);
    const absl::StatusCode code = result->status == 404   ? absl::StatusCode::kNotFound
                                  : result->status == 409 ? absl::StatusCode::kAlreadyExists
                                  : result->status == 503 ? absl::StatusCode::kUnavailable
                                  : result->status == 401 ? absl::StatusCode::kUnauthenticated
                                  : result->status == 403 ? absl::StatusCode::kPermissionDenied
                                  : result->status >= 500 ? absl::StatusCode::kInternal
                                                          : absl::StatusCode::kInvalidArgument;
    return absl::Status(code, message);
  }

 private:
  ServerClient(std::string url, std::string token, std::string ca_file)
      : url_(std::move(url)), token_(std::move(token)), ca_file_(std::move(ca_file)) {}
  std::string url_;
  std::string token_;
  std::string ca_file_;
};

// The API path of `stream` (stream names need no escaping; anything else cannot name one).
absl::StatusOr<std::string> Path(const std::string& stream, const std::string& rest = "") {
  StreamConfig config;
  config.name = stream;
  RETURN_IF_ERROR(ValidateStreamConfig(config));
  return "/api/v1/streams/" + stream + rest;
}

void PrintStream(const json& stream, std::ostream& out) {
  out << fmt::format("stream             {}\n", stream.value("name", ""));
  out << fmt::format("table              {}\n", stream.value("table", ""));
  out << fmt::format("created            {}\n", stream.value("created_at", ""));
  out << fmt::format("buffer             {} or {} s\n",
                     HumanBytes(stream.value("buffer_bytes", int64_t{0})),
                     stream.value("buffer_seconds", int64_t{0}));
  out << fmt::format("compression        {}\n", stream.value("compression", ""));
  out << fmt::format("invalid records    {}\n", stream.value("reject_invalid", false)
                                                    ? "refused by the put"
                                                    : "accepted, delivered to the error prefix");
  const auto partition_by = stream.value("partition_by", std::vector<std::string>{});
  out << fmt::format("partition by       {}\n",
                     partition_by.empty() ? "-" : Join(partition_by, ", "));
  out << fmt::format("error prefix       raw/{}/{}/\n", stream.value("name", ""),
                     stream.value("error_prefix", ""));
  const std::string parquet_table = stream.value("parquet_table", "");
  out << fmt::format(
      "delivered as       {}\n",
      parquet_table.empty() ? "NDJSON" : "Parquet with the columns of " + parquet_table);
  out << fmt::format("last sequence      {}\n", stream.value("last_sequence", uint64_t{0}));
  out << fmt::format("delivered through  {}\n", stream.value("delivered_through", uint64_t{0}));
  out << fmt::format("buffered           {}\n",
                     HumanBytes(stream.value("buffered_bytes", int64_t{0})));
  out << fmt::format("records delivered  {} (since the server started)\n",
                     stream.value("records_delivered", uint64_t{0}));
  out << fmt::format("records failed     {} (in the error prefix, with their reasons)\n",
                     stream.value("records_failed", uint64_t{0}));
  for (const std::string& reason : stream.value("last_failures", std::vector<std::string>{}))
    out << fmt::format("  recent failure:  {}\n", reason);
}

// The records of `content` (views into it): NDJSON lines, or a JSON array's elements (kept,
// compact, in `storage`). Every record is checked before anything is sent.
absl::StatusOr<std::vector<std::string_view>> SplitRecords(std::string_view content,
                                                           const std::string& name,
                                                           std::vector<std::string>& storage) {
  std::vector<std::string_view> records;
  const size_t start = content.find_first_not_of(" \t\r\n");
  if (start != std::string::npos && content[start] == '[') {
    json array = json::parse(content.begin(), content.end(), nullptr, false);
    if (!array.is_array())
      return absl::InvalidArgumentError(fmt::format("{}: not a JSON array", name));
    for (const json& element : array) storage.push_back(element.dump());
    records.assign(storage.begin(), storage.end());
    return records;
  }
  size_t line_number = 0;
  for (std::string_view line : Split(content, '\n')) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (!IsJsonValue(line)) {
      return absl::InvalidArgumentError(
          fmt::format("{} line {} is not JSON; nothing was sent", name, line_number));
    }
    records.push_back(line);
  }
  return records;
}

// The bytes of the input `loch put` sends: a regular file is mapped rather than read (gigabytes of
// it cost page cache the kernel can reclaim, not as much private memory); stdin ("-"), pipes and
// the like are read whole.
class InputFile {
 public:
  static absl::StatusOr<std::unique_ptr<InputFile>> Open(const std::string& path) {
    auto file = std::unique_ptr<InputFile>(new InputFile());
    const int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    }
    struct stat info {};
    const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
    absl::Status status;
    if (S_ISDIR(info.st_mode)) {
      status = absl::InvalidArgumentError(fmt::format("cannot read {}: a directory", path));
    } else if (regular && info.st_size > 0) {
      file->size_ = static_cast<size_t>(info.st_size);
      void* data = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        status = absl::InternalError(fmt::format("cannot map {}: {}", path, std::strerror(errno)));
      } else {
        ::madvise(data, file->size_, MADV_SEQUENTIAL);
        file->mapped_ = static_cast<const char*>(data);
      }
    } else if (!regular) {
      char buffer[1 << 16];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          status =
              absl::UnavailableError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
          break;
        }
        file->read_.append(buffer, static_cast<size_t>(n));
      }
    }
    if (fd != STDIN_FILENO) ::close(fd);  // a mapping stays valid
    RETURN_IF_ERROR(status);
    return file;
  }
  ~InputFile() {
    if (mapped_ != nullptr) ::munmap(const_cast<char*>(mapped_), size_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  std::string_view content() const {
    return mapped_ != nullptr ? std::string_view(mapped_, size_) : std::string_view(read_);
  }

 private:
  InputFile() = default;
  const char* mapped_ = nullptr;
  size_t size_ = 0;
  std::string read_;
};

}  // namespace

absl::Status RunStreamCreate(const CommonOptions& common, const ServerOptions& server,
                             const StreamCreateOptions& options, std::ostream& out) {
  ASSIGN_OR_RETURN(ServerClient client, ServerClient::Connect(common, server));
  json body = {{"name", options.name},
               {"validate_json", options.validate_json},
               {"reject_invalid", options.reject_invalid},
               {"partition_by", options.partition_by}};
  if (options.buffer_mib) body["buffer_bytes"] = *options.buffer_mib << 20;
  if (options.buffer_seconds) body["buffer_seconds"] = *options.buffer_seconds;
  if (options.compression) body["compression"] = *options.compression;
  if (options.max_open_partitions) body["max_open_partitions"] = *options.max_open_partitions;
  if (options.error_prefix) body["error_prefix"] = *options.error_prefix;
  if (options.parquet_table) body["parquet_table"] = *options.parquet_table;
  ASSIGN_OR_RETURN(json created, client.Call("POST", "/api/v1/streams", body.dump()));
  out << fmt::format("created stream {}; its records land in table {}\n", options.name,
                     created.value("table", ""));
  return absl::OkStatus();
}

absl::Status RunStreamList(const CommonOptions& common, const ServerOptions& server,
                           std::ostream& out) {
  ASSIGN_OR_RETURN(ServerClient client, ServerClient::Connect(common, server));
  ASSIGN_OR_RETURN(json answer, client.Call("GET", "/api/v1/streams"));
  out << fmt::format("{:<24} {:<24} {:>12} {:>12} {:>10}\n", "stream", "table", "acknowledged",
                     "delivered", "buffered");
  for (const json& stream : answer["streams"]) {
    out << fmt::format("{:<24} {:<24} {:>12} {:>12} {:>10}\n", stream.value("name", ""),
                       stream.value("table", ""), stream.value("last_sequence", uint64_t{0}),
                       stream.value("delivered_through", uint64_t{0}),
                       HumanBytes(stream.value("buffered_bytes", int64_t{0})));
  }
  return absl::OkStatus();
}

absl::Status RunStreamDescribe(const CommonOptions& common, const ServerOptions& server,
                               const std::string& name, std::ostream& out) {
  ASSIGN_OR_RETURN(ServerClient client, ServerClient::Connect(common, server));
  ASSIGN_OR_RETURN(std::string path, Path(name));
  ASSIGN_OR_RETURN(json stream, client.Call("GET", path));
  PrintStream(stream, out);
  return absl::OkStatus();
}

absl::Status RunStreamDelete(const CommonOptions& common, const ServerOptions& server,
                             const std::string& name, bool force, std::ostream& out) {
  ASSIGN_OR_RETURN(ServerClient client, ServerClient::Connect(common, server));
  ASSIGN_OR_RETURN(std::string path, Path(name));
  RETURN_IF_ERROR(client.Call("DELETE", force ? path + "?force=true" : path).status());
  out << fmt::format(
      "deleted stream {} ({}; its table stays)\n", name,
      force ? "what it could not deliver was discarded" : "what it held was delivered");
  return absl::OkStatus();
}

absl::Status RunStreamFlush(const CommonOptions& common, const ServerOptions& server,
                            const std::string& name, std::ostream& out) {
  ASSIGN_OR_RETURN(ServerClient client, ServerClient::Connect(common, server));
  ASSIGN_OR_RETURN(std::string path, Path(name, "/flush"));
  ASSIGN_OR_RETURN(json stream, client.Call("POST", path));
  out << fmt::format("stream {} is delivered through record {} into {}\n", name,
                     stream.value("delivered_through", uint64_t{0}), stream.value("table", ""));
  return absl::OkStatus();
}

absl::Status RunPut(const CommonOptions& common, const ServerOptions& server,
                    const std::string& stream, const std::string& file, std::ostream& out) {
  ASSIGN_OR_RETURN(ServerClient client, ServerClient::Connect(common, server));
  ASSIGN_OR_RETURN(const std::string path, Path(stream, "/records"));
  ASSIGN_OR_RETURN(const std::unique_ptr<InputFile> input, InputFile::Open(file));
  std::string_view content = input->content();
  std::string decompressed;  // a .gz or .zst file (known by its first bytes), read whole
  if (const ContentEncoding encoding = SniffContentEncoding(content);
      encoding != ContentEncoding::kIdentity) {
    constexpr size_t kMaxDecompressedBytes = size_t{16} << 30;
    auto decoded = DecompressBounded(content, encoding, kMaxDecompressedBytes);
    if (!decoded.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("cannot read {}: {}", file, ToStd(decoded.status().message())));
    }
    decompressed = std::move(*decoded);
    content = decompressed;
  }
  std::vector<std::string> storage;
  ASSIGN_OR_RETURN(const std::vector<std::string_view> records,
                   SplitRecords(content, file == "-" ? "stdin" : file, storage));
  if (records.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{} holds no records (NDJSON lines or a JSON array)", file));
  }
  size_t sent = 0, accepted = 0;
  std::vector<std::string> failures;
  while (sent < records.size()) {
    std::string batch;
    size_t count = 0, bytes = 0;
    while (sent + count < records.size() && count < kMaxBatchRecords &&
           bytes + records[sent + count].size() <= kMaxBatchBytes) {
      bytes += records[sent + count].size();
      batch.append(records[sent + count]);
      batch += '\n';
      ++count;
    }
    if (count == 0) {  // one record alone over the batch limit: the server says why
      batch = std::string(records[sent]) + "\n";
      count = 1;
    }
    absl::StatusOr<json> answer;
    for (int attempt = 1;; ++attempt) {
      answer = client.Call("POST", path, batch, "application/x-ndjson");
      if (!absl::IsUnavailable(answer.status()) || attempt == 30) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2000, 100 * attempt)));
    }
    if (!answer.ok()) {  // say where to resume: what came before is acknowledged
      EndProgress();
      if (sent == 0) return answer.status();
      return absl::Status(
          answer.status().code(),
          fmt::format("{} (records 1-{} were acknowledged, {} of them refused; records {}-{} were "
                      "not taken)",
                      ToStd(answer.status().message()), sent, failures.size(), sent + 1,
                      records.size()));
    }
    accepted += answer->value("accepted", size_t{0});
    const json& results = (*answer)["records"];
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].contains("error")) {
        failures.push_back(
            fmt::format("record {}: {}", sent + i + 1, results[i]["error"].get<std::string>()));
      }
    }
    sent += count;
    ShowProgress(fmt::format("put: {} of {} records", sent, records.size()));
  }
  EndProgress();
  out << fmt::format("{} record(s) acknowledged by stream {}", accepted, stream);
  out << (failures.empty() ? "\n" : fmt::format(", {} refused\n", failures.size()));
  if (!failures.empty()) {
    for (size_t i = 0; i < std::min<size_t>(failures.size(), 10); ++i)
      out << "  " << failures[i] << "\n";
    return absl::InvalidArgumentError(
        fmt::format("{} record(s) were refused (see above)", failures.size()));
  }
  return absl::OkStatus();
}

}  // namespace loch::cli
