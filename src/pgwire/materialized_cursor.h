#pragma once
// A QueryCursor over rows already in memory (catalog answers, SHOW).

#include <memory>
#include <utility>
#include <vector>

#include "engine/lake_engine.h"

namespace loch::pg {

class MaterializedCursor final : public QueryCursor {
 public:
  MaterializedCursor(std::vector<ResultColumn> columns, ResultChunk chunk)
      : columns_(std::move(columns)), chunk_(std::move(chunk)) {}
  const std::vector<ResultColumn>& columns() const override { return columns_; }
  absl::StatusOr<std::optional<ResultChunk>> Next() override {
    if (done_) return std::optional<ResultChunk>();
    done_ = true;
    return std::optional<ResultChunk>(std::move(chunk_));
  }
  void Cancel() override {}

 private:
  std::vector<ResultColumn> columns_;
  ResultChunk chunk_;
  bool done_ = false;
};

inline std::unique_ptr<QueryCursor> MakeMaterializedCursor(std::vector<ResultColumn> columns,
                                                           ResultChunk chunk) {
  return std::make_unique<MaterializedCursor>(std::move(columns), std::move(chunk));
}

}  // namespace loch::pg
