// Load generator for `loch serve`'s ingestion (make bench): N keep-alive clients put records as
// fast as they can (or at a fixed total rate) for a while, and it prints one JSON line with
// records/s, MiB/s and acknowledgement latency percentiles.
//
// Usage: ingest_load URL TOKEN STREAM [--mode batch|single] [--clients 8] [--seconds 60]
//          [--batch 500] [--record-bytes 1024] [--rate REQUESTS_PER_SECOND]
//          [--access-key K --secret S]
//   batch:  native REST, POST /api/v1/streams/STREAM/records with --batch NDJSON records
//   single: Firehose PutRecord (one base64 record, SigV4-signed with --access-key/--secret)

#include <httplib.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "server/sigv4.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url, token, stream, mode = "batch", access_key, secret;
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

struct Totals {
  std::mutex mu;
  std::vector<double> latencies_ms;
  int64_t requests = 0, records = 0, bytes = 0, errors = 0, unavailable = 0;
};

void RunClient(const Options& options, int id, Clock::time_point end, Totals& totals) {
  httplib::Client client(options.url);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  client.set_read_timeout(60, 0);
  const bool single = options.mode == "single";
  const int per_request = single ? 1 : options.batch;
  const std::string host = options.url.substr(options.url.find("//") + 2);
  std::vector<double> latencies;
  int64_t requests = 0, records = 0, bytes = 0, errors = 0, unavailable = 0, n = 0;
  const auto interval = options.rate > 0
                            ? std::chrono::duration<double>(options.clients / options.rate)
                            : std::chrono::duration<double>(0);
  std::string batch_body;
  int64_t batch_payload = 0;
  for (int i = 0; !single && i < per_request; ++i) {
    const std::string record = Record(id, i, options.record_bytes);
    batch_payload += static_cast<int64_t>(record.size());
    batch_body += record + "\n";
  }
  auto next = Clock::now();
  while (Clock::now() < end) {
    if (options.rate > 0) {
      std::this_thread::sleep_until(next);
      next += std::chrono::duration_cast<Clock::duration>(interval);
    }
    std::string body;
    int64_t payload = 0;
    httplib::Headers headers;
    std::string path;
    if (single) {
      const std::string record = Record(id, n++, options.record_bytes);
      payload = static_cast<int64_t>(record.size());
      body = fmt::format(R"({{"DeliveryStreamName": "{}", "Record": {{"Data": "{}"}}}})",
                         options.stream, Base64(record));
      path = "/";
      loch::SignedRequest request{"POST", "/", {}, {}, body};
      // Content-Type is set by the client below (so not signed here: it would be sent twice).
      request.headers = {{"Host", host}, {"X-Amz-Target", "Firehose_20150804.PutRecord"}};
      for (const auto& header :
           loch::SignSigV4(request, options.access_key, options.secret, "us-east-1", "firehose",
                           static_cast<int64_t>(std::time(nullptr)))) {
        request.headers.insert(header);
      }
      for (const auto& [name, value] : request.headers) {
        if (name != "Host") headers.emplace(name, value);
      }
    } else {
      body = batch_body;  // built once: the client should not be what limits the server
      payload = batch_payload;
      path = "/api/v1/streams/" + options.stream + "/records";
      headers = {{"Authorization", "Bearer " + options.token}};
    }
    const auto start = Clock::now();
    auto answer = client.Post(path, headers, body,
                              single ? "application/x-amz-json-1.1" : "application/x-ndjson");
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!answer || (answer->status != 200 && answer->status != 503)) {
      ++errors;
      if (errors <= 3) {
        std::cerr << "request failed: "
                  << (answer ? fmt::format("{} {}", answer->status, answer->body.substr(0, 200))
                             : httplib::to_string(answer.error()))
                  << "\n";
      }
      continue;
    }
    if (answer->status == 503) {  // backpressure: back off as a producer should
      ++unavailable;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    ++requests;
    records += per_request;
    bytes += payload;
    latencies.push_back(ms);
  }
  std::lock_guard lock(totals.mu);
  totals.latencies_ms.insert(totals.latencies_ms.end(), latencies.begin(), latencies.end());
  totals.requests += requests;
  totals.records += records;
  totals.bytes += bytes;
  totals.errors += errors;
  totals.unavailable += unavailable;
}

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
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  Totals totals;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options.seconds));
  std::vector<std::thread> clients;
  for (int i = 0; i < options.clients; ++i)
    clients.emplace_back(RunClient, std::cref(options), i, end, std::ref(totals));
  for (auto& client : clients) client.join();
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
