#pragma once
// ResultSpool: a query's whole result written as CSV (a header line, then one line per row) to a
// local file as it streams, then published to the lake's results zone
// (`results/<workgroup>/<query id>.csv`, like Athena's output location). The file is removed when
// the spool is destroyed. A result over the spool's byte limit is not kept (a local disk must not
// fill with one query's output): the file is dropped as soon as it passes the limit. Not
// thread-safe.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/result_set.h"
#include "storage/object_store.h"

namespace loch {

class ResultSpool {
 public:
  // Spools to `path` (created now; a spool that cannot create its file drops what it is given and
  // fails Publish). A result of over `max_bytes` of CSV is dropped; Publish then fails with
  // ResourceExhausted.
  ResultSpool(std::string path, uint64_t max_bytes);
  ~ResultSpool();
  ResultSpool(const ResultSpool&) = delete;
  ResultSpool& operator=(const ResultSpool&) = delete;

  void WriteHeader(const std::vector<ResultColumn>& columns);
  void Append(const ResultChunk& chunk);
  // Closes the file and copies it to `key` in `store`.
  absl::Status Publish(ObjectStore& store, const std::string& key);

 private:
  void Write(const std::string& text);

  std::string path_;
  uint64_t max_bytes_;
  uint64_t written_ = 0;
  std::unique_ptr<FILE, int (*)(FILE*)> file_;
  bool failed_ = false;     // a write failed: the spool is incomplete
  bool too_large_ = false;  // passed max_bytes_: the file is gone
};

// Where a query's result goes in the lake: results/<workgroup>/<id>.csv.
std::string ResultKey(const std::string& workgroup, const std::string& query_id);

}  // namespace loch
