#pragma once
// Writes query results to a stream as an aligned table, CSV (RFC 4180) or JSON (an array of
// objects). CSV and JSON stream row by row; the table format buffers up to `max_table_rows` rows to
// align columns and then reports how many more rows there were.

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "common/status.h"
#include "engine/result_set.h"

namespace loch {

class ResultWriter {
 public:
  virtual ~ResultWriter() = default;
  virtual void Begin(const std::vector<ResultColumn>& columns) = 0;
  virtual void Write(const ResultChunk& chunk) = 0;
  // Finishes the output; `elapsed_ms` is shown by formats meant for people.
  virtual void End(double elapsed_ms) = 0;
};

// `format` is "table", "csv" or "json"; InvalidArgument otherwise.
absl::StatusOr<std::unique_ptr<ResultWriter>> MakeResultWriter(const std::string& format,
                                                               std::ostream& out,
                                                               size_t max_table_rows = 1000);

// A one-line progress display on stderr, only when a person is watching (stderr is a terminal):
// ShowProgress replaces the line, EndProgress clears it.
void ShowProgress(const std::string& line);
void EndProgress();

}  // namespace loch
