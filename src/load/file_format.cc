#include "load/file_format.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "fmt/format.h"

namespace loch {
namespace {

bool EndsWith(const std::string& text, std::string_view suffix) { return text.ends_with(suffix); }

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The format of uncompressed content from its first bytes: Parquet's magic number, JSON's opening
// brace or bracket, or text lines that share a delimiter (CSV/TSV). nullopt if none fits.
std::optional<std::string> SniffFormat(std::string_view head) {
  if (head.starts_with("PAR1")) return "parquet";
  size_t start = 0;
  while (start < head.size() && std::isspace(static_cast<unsigned char>(head[start]))) ++start;
  if (start < head.size() && (head[start] == '{' || head[start] == '[')) return "json";
  if (std::any_of(head.begin(), head.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 && c != '\n' && c != '\r' && c != '\t';
      })) {
    return std::nullopt;  // binary
  }
  // Complete lines only (the head may end mid-line); at least two, all with the same number > 0 of
  // one delimiter.
  std::vector<std::string_view> lines;
  size_t line_start = 0;
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n') {
      lines.push_back(head.substr(line_start, i - line_start));
      line_start = i + 1;
    }
  }
  if (lines.size() < 2) return std::nullopt;
  for (char delimiter : {',', '\t', ';', '|'}) {
    const auto count = [&](std::string_view line) {
      return std::count(line.begin(), line.end(), delimiter);
    };
    const auto first = count(lines[0]);
    if (first > 0 && std::all_of(lines.begin(), lines.end(),
                                 [&](std::string_view line) { return count(line) == first; })) {
      return "csv";
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<FileFormat> DetectFormat(const std::string& path, std::string_view content) {
  std::string name = Lower(std::filesystem::path(path).filename().string());
  FileFormat result;
  if (EndsWith(name, ".gz")) {
    result.compression = "gzip";
    name.resize(name.size() - 3);
  } else if (EndsWith(name, ".zst") || EndsWith(name, ".zstd")) {
    result.compression = "zstd";
    name.resize(name.size() - (EndsWith(name, ".zst") ? 4 : 5));
  }
  if (EndsWith(name, ".json") || EndsWith(name, ".ndjson") || EndsWith(name, ".jsonl")) {
    result.format = "json";
  } else if (EndsWith(name, ".csv") || EndsWith(name, ".tsv")) {
    result.format = "csv";
  } else if (EndsWith(name, ".parquet") || EndsWith(name, ".pq")) {
    result.format = "parquet";
  } else if (std::optional<std::string> sniffed = SniffFormat(content);
             sniffed && result.compression.empty()) {
    result.format = *sniffed;  // no telling extension: the content decides
  } else {
    return absl::InvalidArgumentError(
        fmt::format("cannot tell the format of \"{}\" from its name or its first bytes: name it "
                    ".json/.ndjson/.jsonl, .csv/.tsv or .parquet (optionally with .gz or .zst)",
                    path));
  }
  if (result.format == "parquet" && !result.compression.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("\"{}\": Parquet files are compressed inside; remove the outer {}", path,
                    result.compression));
  }

  const auto* head = reinterpret_cast<const unsigned char*>(content.data());
  const size_t read = std::min<size_t>(content.size(), 4);
  if (read == 0) return absl::InvalidArgumentError(fmt::format("\"{}\" is empty", path));
  const bool gzip = read >= 2 && head[0] == 0x1f && head[1] == 0x8b;
  const bool zstd =
      read >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd;
  const bool parquet =
      read >= 4 && head[0] == 'P' && head[1] == 'A' && head[2] == 'R' && head[3] == '1';
  auto mismatch = [&](std::string_view expected) {
    return absl::InvalidArgumentError(fmt::format(
        "\"{}\" is named like {} but its content is not: check the file or its extension", path,
        expected));
  };
  if (result.compression == "gzip" && !gzip) return mismatch("a gzip file (.gz)");
  if (result.compression == "zstd" && !zstd) return mismatch("a zstd file (.zst)");
  if (result.compression.empty() && (gzip || zstd)) {
    return mismatch(fmt::format("an uncompressed {} file (it is {}; add .{})", result.format,
                                gzip ? "gzip" : "zstd", gzip ? "gz" : "zst"));
  }
  if (result.format == "parquet" && !parquet) return mismatch("a Parquet file");
  return result;
}

absl::StatusOr<FileFormat> DetectFileFormat(const std::string& path) {
  char head[kFormatHeadBytes];
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::NotFoundError(fmt::format("cannot open \"{}\"", path));
  const size_t read = std::fread(head, 1, sizeof head, file);
  std::fclose(file);
  return DetectFormat(path, std::string_view(head, read));
}

}  // namespace loch
