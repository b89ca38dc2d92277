// Load generator for `loch serve`'s ingestion (make bench): N keep-alive clients put records as
// fast as they can (or at a fixed total rate) for a while, and it prints one JSON line with
// records/s, MiB/s and acknowledgement latency percentiles.
//
// Usage: ingest_load URL TOKEN STREAM [--mode batch|query|single] [--clients 8] [--seconds 60]
//          [--batch 500] [--record-bytes 1024] [--rate REQUESTS_PER_SECOND]
//          [--access-key K --secret S] [--ca-file PEM] [--reconnect 1]
//   batch:  native REST, POST /api/v1/streams/STREAM/records with --batch NDJSON records
//   query:  POST /api/v1/query {"sql": "SELECT 42"} (the request's own cost; STREAM is ignored)
//   --ca-file: trust this CA for an https URL; --reconnect 1: a new connection (and TLS
//   handshake) for every request (batch and query modes)
//   single: Firehose PutRecord (one base64 record, SigV4-signed with --access-key/--secret), the
//           connections driven from one thread

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "server/sigv4.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url, token, stream, mode = "batch", access_key, secret, ca_file;
  bool reconnect = false;
  int clients = 8;
  double seconds = 60;
  int batch = 500;
  int record_bytes = 1024;
  double rate = 0;  // requests per second over all clients; 0: as fast as possible
};

std::string Record(int client, int64_t n, int bytes) {
  std::string record = fmt::format(
      R"({{"id": {}, "client": {}, "user": "user-{}", "event": "page_view", "ts": "2026-11-27T03:00:00Z", "pad": ")",
      n, client, n % 1000);
  const size_t pad = bytes > static_cast<int>(record.size()) + 2 ? bytes - record.size() - 2 : 0;
  // Hex noise, so compression has real work (about 2:1, like typical event payloads).
  uint64_t state =
      static_cast<uint64_t>(n) * 6364136223846793005ULL + static_cast<uint64_t>(client);
  for (size_t i = 0; i < pad; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    record += "0123456789abcdef"[(state >> 33) & 15];
  }
  record += "\"}";
  return record;
}

std::string Base64(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// What one client (thread) counted; merged into the run's totals at its end.
struct Tally {
  std::vector<double> latencies_ms;
  int64_t requests = 0, records = 0, bytes = 0, errors = 0, unavailable = 0;
};

struct Totals : Tally {
  std::mutex mu;
  void Merge(const Tally& client) {
    std::lock_guard lock(mu);
    latencies_ms.insert(latencies_ms.end(), client.latencies_ms.begin(), client.latencies_ms.end());
    requests += client.requests;
    records += client.records;
    bytes += client.bytes;
    errors += client.errors;
    unavailable += client.unavailable;
  }
};

void RunClient(const Options& options, int id, Clock::time_point end, Totals& totals) {
  const auto connect = [&options] {
    auto client = std::make_unique<httplib::Client>(options.url);
    if (!options.ca_file.empty()) client->set_ca_cert_path(options.ca_file.c_str());
    client->set_keep_alive(!options.reconnect);
    client->set_tcp_nodelay(true);
    client->set_read_timeout(60, 0);
    return client;
  };
  std::unique_ptr<httplib::Client> client = connect();
  Tally mine;
  const auto interval = options.rate > 0
                            ? std::chrono::duration<double>(options.clients / options.rate)
                            : std::chrono::duration<double>(0);
  const bool query = options.mode == "query";
  const std::string path =
      query ? "/api/v1/query" : "/api/v1/streams/" + options.stream + "/records";
  const httplib::Headers headers = {{"Authorization", "Bearer " + options.token}};
  std::string batch_body;
  int64_t batch_payload = 0;
  for (int i = 0; i < options.batch && !query; ++i) {
    const std::string record = Record(id, i, options.record_bytes);
    batch_payload += static_cast<int64_t>(record.size());
    batch_body += record + "\n";
  }
  if (query) batch_body = R"({"sql": "SELECT 42"})";
  auto next = Clock::now();
  while (Clock::now() < end) {
    if (options.rate > 0) {
      std::this_thread::sleep_until(next);
      next += std::chrono::duration_cast<Clock::duration>(interval);
    }
    const auto start = Clock::now();
    // Built once: the client should not be what limits the server.
    if (options.reconnect) client = connect();
    auto answer = client->Post(path, headers, batch_body,
                               query ? "application/json" : "application/x-ndjson");
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!answer || (answer->status != 200 && answer->status != 503)) {
      ++mine.errors;
      if (mine.errors <= 3) {
        std::cerr << "request failed: "
                  << (answer ? fmt::format("{} {}", answer->status, answer->body.substr(0, 200))
                             : httplib::to_string(answer.error()))
                  << "\n";
      }
      continue;
    }
    if (answer->status == 503) {  // backpressure: back off as a producer should
      ++mine.unavailable;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    ++mine.requests;
    mine.records += query ? 1 : options.batch;
    mine.bytes += batch_payload;
    mine.latencies_ms.push_back(ms);
  }
  totals.Merge(mine);
}

// Single-record mode: all connections driven by one thread with epoll, so the load generator
// spends its CPU on signing and sending rather than on context switches (on 2 shared cores, a
// thread per connection left the server measurably less room). Each connection sends its next
// request only after the previous answer (a producer waiting for each acknowledgement).
class SingleRecordClients {
 public:
  SingleRecordClients(const Options& options, Totals& totals) : options_(options), totals_(totals) {
    const std::string host_port = options.url.substr(options.url.find("//") + 2);
    host_ = host_port;
    const size_t colon = host_port.rfind(':');
    address_.sin_family = AF_INET;
    address_.sin_port = htons(static_cast<uint16_t>(std::atoi(host_port.c_str() + colon + 1)));
    inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &address_.sin_addr);
  }

  void Run(Clock::time_point end) {
    epoll_ = epoll_create1(0);
    connections_.resize(static_cast<size_t>(options_.clients));
    for (size_t i = 0; i < connections_.size(); ++i) Connect(i);
    std::vector<epoll_event> events(connections_.size());
    while (Clock::now() < end) {
      const auto now = Clock::now();
      for (size_t i = 0; i < connections_.size(); ++i) {  // back-offs that are over
        Connection& c = connections_[i];
        if (c.resume_at && *c.resume_at <= now) {
          c.resume_at.reset();
          Send(i);
        }
      }
      const int ready = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 10);
      for (int e = 0; e < ready; ++e) Readable(events[static_cast<size_t>(e)].data.u64);
    }
    for (Connection& c : connections_) close(c.fd);
    close(epoll_);
    tally_.records = tally_.requests;  // one record per request
    totals_.Merge(tally_);
  }

 private:
  struct Connection {
    int fd = -1;
    int64_t sent = 0;     // records sent on it, for their ids
    int64_t payload = 0;  // of the request in flight
    Clock::time_point started;
    std::string in;                              // the answer so far
    std::optional<Clock::time_point> resume_at;  // backing off after a 503
  };

  void Connect(size_t i) {
    Connection& c = connections_[i];
    if (c.fd >= 0) close(c.fd);
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&address_), sizeof address_) != 0) {
      std::cerr << "cannot connect: " << std::strerror(errno) << "\n";
      std::exit(1);
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &event);
    Send(i);
  }

  void Send(size_t i) {
    Connection& c = connections_[i];
    const std::string record = Record(static_cast<int>(i), c.sent++, options_.record_bytes);
    c.payload = static_cast<int64_t>(record.size());
    const std::string body =
        fmt::format(R"({{"DeliveryStreamName": "{}", "Record": {{"Data": "{}"}}}})",
                    options_.stream, Base64(record));
    loch::SignedRequest request{"POST", "/", {}, {}, body};
    request.headers = {{"Host", host_},
                       {"Content-Type", "application/x-amz-json-1.1"},
                       {"X-Amz-Target", "Firehose_20150804.PutRecord"}};
    for (const auto& header :
         loch::SignSigV4(request, options_.access_key, options_.secret, "us-east-1", "firehose",
                         static_cast<int64_t>(std::time(nullptr)))) {
      request.headers.insert(header);
    }
    std::string out = "POST / HTTP/1.1\r\n";
    for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
    out += fmt::format("Content-Length: {}\r\n\r\n", body.size());
    out += body;
    c.started = Clock::now();
    c.in.clear();
    for (size_t written = 0; written < out.size();) {  // small: the socket buffer takes it
      const ssize_t n = send(c.fd, out.data() + written, out.size() - written, MSG_NOSIGNAL);
      if (n <= 0) return Failed(i);
      written += static_cast<size_t>(n);
    }
  }

  void Readable(size_t i) {
    Connection& c = connections_[i];
    char buffer[16384];
    const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
    if (n <= 0) return Failed(i);
    c.in.append(buffer, static_cast<size_t>(n));
    const size_t head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos) return;
    std::string head = c.in.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    const size_t length_at = head.find("content-length:");
    const size_t length = length_at == std::string::npos
                              ? 0
                              : std::strtoul(head.c_str() + length_at + 15, nullptr, 10);
    if (c.in.size() < head_end + 4 + length) return;  // the rest of the body is on its way
    const int status = std::atoi(c.in.c_str() + c.in.find(' ') + 1);
    if (status == 503) {  // backpressure: back off as a producer should
      ++tally_.unavailable;
      c.resume_at = Clock::now() + std::chrono::milliseconds(100);
      return;
    }
    if (status != 200) {
      if (++tally_.errors <= 3) std::cerr << "request failed: " << c.in.substr(0, 300) << "\n";
    } else {
      ++tally_.requests;
      tally_.bytes += c.payload;
      tally_.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - c.started).count());
    }
    Send(i);
  }

  void Failed(size_t i) {
    if (++tally_.errors <= 3) std::cerr << "connection lost; reconnecting\n";
    epoll_ctl(epoll_, EPOLL_CTL_DEL, connections_[i].fd, nullptr);
    Connect(i);
  }

  const Options& options_;
  Totals& totals_;
  std::string host_;
  sockaddr_in address_{};
  int epoll_ = -1;
  std::vector<Connection> connections_;
  Tally tally_;
};

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: ingest_load URL TOKEN STREAM [--mode batch|single] [--clients N] "
                 "[--seconds S] [--batch N] [--record-bytes N] [--rate R] [--access-key K "
                 "--secret S]\n";
    return 2;
  }
  Options options;
  options.url = argv[1];
  options.token = argv[2];
  options.stream = argv[3];
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--mode")
      options.mode = value;
    else if (flag == "--clients")
      options.clients = std::atoi(value.c_str());
    else if (flag == "--seconds")
      options.seconds = std::atof(value.c_str());
    else if (flag == "--batch")
      options.batch = std::atoi(value.c_str());
    else if (flag == "--record-bytes")
      options.record_bytes = std::atoi(value.c_str());
    else if (flag == "--rate")
      options.rate = std::atof(value.c_str());
    else if (flag == "--access-key")
      options.access_key = value;
    else if (flag == "--secret")
      options.secret = value;
    else if (flag == "--ca-file")
      options.ca_file = value;
    else if (flag == "--reconnect")
      options.reconnect = value == "1";
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  Totals totals;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options.seconds));
  if (options.mode == "single") {
    SingleRecordClients(options, totals).Run(end);
  } else {
    std::vector<std::thread> clients;
    for (int i = 0; i < options.clients; ++i)
      clients.emplace_back(RunClient, std::cref(options), i, end, std::ref(totals));
    for (auto& client : clients) client.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::cout
      << fmt::format(
             R"({{"mode": "{}", "clients": {}, "seconds": {:.1f}, "requests": {}, "records": {}, "records_per_s": {:.0f}, "requests_per_s": {:.0f}, "mib_per_s": {:.1f}, "p50_ms": {:.2f}, "p99_ms": {:.2f}, "errors": {}, "unavailable": {}}})",
             options.mode, options.clients, elapsed, totals.requests, totals.records,
             totals.records / elapsed, totals.requests / elapsed,
             totals.bytes / elapsed / 1048576.0, Percentile(totals.latencies_ms, 0.5),
             Percentile(totals.latencies_ms, 0.99), totals.errors, totals.unavailable)
      << std::endl;
  // A rare reset under overload is reported, not fatal; many mean the run measured nothing.
  return totals.errors * 100 > totals.requests ? 1 : 0;
}
