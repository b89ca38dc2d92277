#include "query/result_spool.h"

#include "fmt/format.h"

namespace loch {

ResultSpool::ResultSpool(std::string path)
    : path_(std::move(path)), file_(std::fopen(path_.c_str(), "wb"), [](FILE* f) {
        return f != nullptr ? std::fclose(f) : 0;
      }) {}

ResultSpool::~ResultSpool() {
  file_.reset();
  std::remove(path_.c_str());
}

void ResultSpool::WriteHeader(const std::vector<ResultColumn>& columns) {
  if (!file_) return;
  std::string header;
  for (size_t c = 0; c < columns.size(); ++c) header += (c ? "," : "") + CellToCsv(columns[c].name);
  header += "\n";
  failed_ = failed_ || std::fwrite(header.data(), 1, header.size(), file_.get()) != header.size();
}

void ResultSpool::Append(const ResultChunk& chunk) {
  if (!file_) return;
  std::string lines;
  for (size_t r = 0; r < chunk.row_count; ++r) {
    for (size_t c = 0; c < chunk.cells.size(); ++c)
      lines += (c ? "," : "") + CellToCsv(chunk.cells[c][r]);
    lines += "\n";
  }
  failed_ = failed_ || std::fwrite(lines.data(), 1, lines.size(), file_.get()) != lines.size();
}

absl::Status ResultSpool::Publish(ObjectStore& store, const std::string& key) {
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
