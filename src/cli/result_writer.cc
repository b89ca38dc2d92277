#include "cli/result_writer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "common/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

// Display width in terminal columns, counting UTF-8 code points.
size_t DisplayWidth(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

class TableWriter final : public ResultWriter {
 public:
  TableWriter(std::ostream& out, size_t max_rows) : out_(out), max_rows_(max_rows) {}

  void Begin(const std::vector<ResultColumn>& columns) override { columns_ = columns; }

  void Write(const ResultChunk& chunk) override {
    for (size_t r = 0; r < chunk.row_count; ++r) {
      ++total_rows_;
      if (rows_.size() >= max_rows_) continue;
      std::vector<std::string> row;
      for (const auto& column : chunk.cells) {
        std::string value = column[r].value_or("NULL");
        if (DisplayWidth(value) > kMaxCell) value = value.substr(0, kMaxCell - 3) + "...";
        std::replace(value.begin(), value.end(), '\n', ' ');
        row.push_back(std::move(value));
      }
      rows_.push_back(std::move(row));
    }
  }

  void End(double elapsed_ms) override {
    std::vector<size_t> widths;
    for (const auto& column : columns_) widths.push_back(DisplayWidth(column.name));
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
    auto cell = [&](const std::string& text, size_t c, bool right) {
      const std::string pad(widths[c] - DisplayWidth(text), ' ');
      return right ? pad + text : text + pad;
    };
    std::string header, rule;
    for (size_t c = 0; c < columns_.size(); ++c) {
      header += (c ? " | " : " ") + cell(columns_[c].name, c, false);
      rule += (c ? "-+-" : "-") + std::string(widths[c], '-');
    }
    auto trimmed = [](std::string line) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      return line;
    };
    out_ << trimmed(header) << "\n" << rule << "-\n";
    for (const auto& row : rows_) {
      std::string line;
      for (size_t c = 0; c < row.size(); ++c) {
        const bool right = columns_[c].kind == ValueKind::kNumber;
        line += (c ? " | " : " ") + cell(row[c], c, right);
      }
      out_ << trimmed(line) << "\n";
    }
    if (total_rows_ > rows_.size()) {
      out_ << fmt::format("... {} more rows not shown (use --max-rows, or --format csv)\n",
                          WithThousands(static_cast<int64_t>(total_rows_ - rows_.size())));
    }
    out_ << fmt::format("({} row{}, {:.1f} ms)\n", WithThousands(static_cast<int64_t>(total_rows_)),
                        total_rows_ == 1 ? "" : "s", elapsed_ms);
  }

 private:
  static constexpr size_t kMaxCell = 80;
  std::ostream& out_;
  size_t max_rows_;
  std::vector<ResultColumn> columns_;
  std::vector<std::vector<std::string>> rows_;
  size_t total_rows_ = 0;
};

class CsvWriter final : public ResultWriter {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) {}
  void Begin(const std::vector<ResultColumn>& columns) override {
    for (size_t c = 0; c < columns.size(); ++c)
      out_ << (c ? "," : "") << CellToCsv(columns[c].name);
    out_ << "\n";
  }
  void Write(const ResultChunk& chunk) override {
    std::string buffer;
    for (size_t r = 0; r < chunk.row_count; ++r) {
      for (size_t c = 0; c < chunk.cells.size(); ++c) {
        if (c) buffer += ',';
        buffer += CellToCsv(chunk.cells[c][r]);
      }
      buffer += '\n';
    }
    out_ << buffer;
  }
  void End(double) override { out_.flush(); }

 private:
  std::ostream& out_;
};

class JsonWriter final : public ResultWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}
  void Begin(const std::vector<ResultColumn>& columns) override {
    columns_ = columns;
    for (const auto& column : columns) keys_.push_back(nlohmann::json(column.name).dump());
    out_ << "[";
  }
  void Write(const ResultChunk& chunk) override {
    std::string buffer;
    for (size_t r = 0; r < chunk.row_count; ++r) {
      buffer += first_ ? "\n{" : ",\n{";
      first_ = false;
      for (size_t c = 0; c < chunk.cells.size(); ++c) {
        if (c) buffer += ',';
        buffer += keys_[c] + ':' + CellToJson(chunk.cells[c][r], columns_[c].kind);
      }
      buffer += '}';
    }
    out_ << buffer;
  }
  void End(double) override {
    out_ << (first_ ? "]\n" : "\n]\n");
    out_.flush();
  }

 private:
  std::ostream& out_;
  std::vector<ResultColumn> columns_;
  std::vector<std::string> keys_;
  bool first_ = true;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ResultWriter>> MakeResultWriter(const std::string& format,
                                                               std::ostream& out,
                                                               size_t max_table_rows) {
  if (format == "table") return std::unique_ptr<ResultWriter>(new TableWriter(out, max_table_rows));
  if (format == "csv") return std::unique_ptr<ResultWriter>(new CsvWriter(out));
  if (format == "json") return std::unique_ptr<ResultWriter>(new JsonWriter(out));
  return absl::InvalidArgumentError(
      fmt::format("unknown output format \"{}\": use table, csv or json", format));
}

namespace {
std::atomic<bool> progress_shown{false};
}  // namespace

void ShowProgress(const std::string& line) {
  if (::isatty(STDERR_FILENO) == 0) return;
  fmt::print(stderr, "\r{}\033[K", line);
  progress_shown = true;
}

void EndProgress() {
  if (progress_shown.exchange(false)) fmt::print(stderr, "\r\033[K");
}

}  // namespace loch
