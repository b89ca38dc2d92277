#include "load/file_format.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "fmt/format.h"

namespace loch {
namespace {

bool EndsWith(const std::string& text, std::string_view suffix) { return text.ends_with(suffix); }

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
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
  } else {
    return absl::InvalidArgumentError(fmt::format(
        "cannot tell the format of \"{}\": name it .json/.ndjson/.jsonl, .csv/.tsv or .parquet "
        "(optionally with .gz or .zst)",
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
  char head[4] = {0, 0, 0, 0};
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::NotFoundError(fmt::format("cannot open \"{}\"", path));
  const size_t read = std::fread(head, 1, sizeof head, file);
  std::fclose(file);
  return DetectFormat(path, std::string_view(head, read));
}

}  // namespace loch
