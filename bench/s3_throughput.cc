// PUT and GET throughput of one large object through loch's S3 backend vs. the curl command line,
// against the same S3 server, interleaved, medians of N runs.
//
//   s3_throughput ENDPOINT BUCKET FILE RUNS [PART_MIB]   (credentials: AWS_ACCESS_KEY_ID /
//   _SECRET_ACCESS_KEY)
// PART_MIB sets loch's multipart part size (default 8 MiB); larger than the object means one PUT.
// Prints a Markdown table row per operation: MiB/s for loch and curl, and the ratio loch/curl.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/strings.h"
#include "fmt/format.h"
#include "storage/s3_store.h"

namespace {

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

template <typename F>
double Seconds(F&& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "s3_throughput: %s failed\n", what.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: s3_throughput ENDPOINT BUCKET FILE RUNS [PART_MIB]\n");
    return 2;
  }
  const std::string endpoint = argv[1], bucket = argv[2], file = argv[3];
  const int runs = std::atoi(argv[4]);
  const std::string key_id = std::getenv("AWS_ACCESS_KEY_ID"),
                    secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  loch::S3Config config;
  config.bucket = bucket;
  config.endpoint = endpoint;
  config.access_key_id = key_id;
  config.secret_access_key = secret;
  if (argc == 6) config.part_size = static_cast<uint64_t>(std::atoll(argv[5])) << 20;
  const std::string label = argc == 6 ? fmt::format(" (parts of {} MiB)", argv[5]) : "";
  auto store = std::move(loch::S3ObjectStore::Open(config)).value();
  const double mib = static_cast<double>(std::filesystem::file_size(file)) / (1 << 20);

  // curl needs the payload hash in a header; compute it once, outside the timings.
  std::string hash;
  {
    FILE* pipe = popen(fmt::format("sha256sum {}", loch::QuoteLiteral(file)).c_str(), "r");
    char buffer[80] = {};
    Check(pipe != nullptr && std::fgets(buffer, sizeof buffer, pipe) != nullptr, "sha256sum");
    pclose(pipe);
    hash = std::string(buffer, 64);
  }
  const std::string curl_common = fmt::format(
      "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user {}:{} -H 'x-amz-content-sha256: {{}}'",
      key_id, secret);
  std::vector<double> loch_put, curl_put, loch_get, curl_get, loch_get_file;
  Check(runs > 0, "RUNS > 0");
  for (int run = 0; run < runs; ++run) {
    loch_put.push_back(
        mib / Seconds([&] { Check(store->PutFile("bench/loch.bin", file).ok(), "loch PUT"); }));
    curl_put.push_back(mib / Seconds([&] {
                         Check(std::system(fmt::format("{} -T {} {}/{}/bench/curl.bin -o /dev/null",
                                                       fmt::format(fmt::runtime(curl_common), hash),
                                                       file, endpoint, bucket)
                                               .c_str()) == 0,
                               "curl PUT");
                       }));
    loch_get.push_back(mib /
                       Seconds([&] { Check(store->Get("bench/loch.bin").ok(), "loch GET"); }));
    loch_get_file.push_back(mib / Seconds([&] {
                              Check(store->GetToFile("bench/loch.bin", file + ".download").ok(),
                                    "loch GET to file");
                            }));
    curl_get.push_back(
        mib / Seconds([&] {
          Check(std::system(
                    fmt::format(
                        "{} {}/{}/bench/curl.bin -o /dev/null",
                        fmt::format(
                            fmt::runtime(curl_common),
                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                        endpoint, bucket)
                        .c_str()) == 0,
                "curl GET");
        }));
  }
  std::printf("| PUT %.0f MiB%s | %.1f | %.1f | %.2f |\n", mib, label.c_str(), Median(loch_put),
              Median(curl_put), Median(loch_put) / Median(curl_put));
  std::printf("| GET %.0f MiB%s | %.1f | %.1f | %.2f |\n", mib, label.c_str(), Median(loch_get),
              Median(curl_get), Median(loch_get) / Median(curl_get));
  std::printf("| GET %.0f MiB to a file%s | %.1f | %.1f | %.2f |\n", mib, label.c_str(),
              Median(loch_get_file), Median(curl_get), Median(loch_get_file) / Median(curl_get));
  return 0;
}
