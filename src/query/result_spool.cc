#include "query/result_spool.h"

#include "fmt/format.h"

namespace loch {

ResultSpool::ResultSpool(std::string path, uint64_t max_bytes)
    : path_(std::move(path)),
      max_bytes_(max_bytes),
      file_(std::fopen(path_.c_str(), "wb"),
            [](FILE* f) { return f != nullptr ? std::fclose(f) : 0; }) {}

ResultSpool::~ResultSpool() {
  file_.reset();
  std::remove(path_.c_str());
}

void ResultSpool::WriteHeader(const std::vector<ResultColumn>& columns) {
  std::string header;
  for (size_t c = 0; c < columns.size(); ++c) header += (c ? "," : "") + CellToCsv(columns[c].name);
  header += "\n";
  Write(header);
}

void ResultSpool::Append(const ResultChunk& chunk) {
  if (!file_) return;  // not created, or dropped
  std::string lines;
  for (size_t r = 0; r < chunk.row_count; ++r) {
    for (size_t c = 0; c < chunk.cells.size(); ++c)
      lines += (c ? "," : "") + CellToCsv(chunk.cells[c][r]);
    lines += "\n";
  }
  Write(lines);
}

void ResultSpool::Write(const std::string& text) {
  if (!file_) return;
  if (text.size() > max_bytes_ - written_) {
    too_large_ = true;
    file_.reset();
    std::remove(path_.c_str());
    return;
  }
  written_ += text.size();
  failed_ = failed_ || std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size();
}

absl::Status ResultSpool::Publish(ObjectStore& store, const std::string& key) {
  if (too_large_) {
    return absl::ResourceExhaustedError(fmt::format(
        "the result is over {} bytes of CSV, more than the results zone keeps of one query "
        "(loch serve --max-saved-result-mib), so it was not saved there",
        max_bytes_));
  }
  if (!file_) return absl::UnavailableError(fmt::format("cannot create \"{}\"", path_));
  const bool flushed = std::fflush(file_.get()) == 0;
  file_.reset();
  if (failed_ || !flushed) return absl::UnavailableError(fmt::format("cannot write \"{}\"", path_));
  return store.PutFile(key, path_);
}

std::string ResultKey(const std::string& workgroup, const std::string& query_id) {
  return fmt::format("results/{}/{}.csv", workgroup, query_id);
}

}  // namespace loch
