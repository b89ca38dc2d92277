// The hand-written readers of client SQL text: write statements, statement splitting, placeholders,
// leading keywords, error positions in (message, sql) pairs, and pgwire's catalog detection and
// rewriting. None may crash, recurse without bound or take more than linear-ish time.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/write_statement.h"
#include "pgwire/catalog_emulation.h"
#include "pgwire/sql_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)loch::ParseWriteStatement(input);
  (void)loch::pg::SplitStatements(input);
  (void)loch::pg::CountParameters(input);
  (void)loch::pg::LeadingKeywords(input, 3);
  if (loch::pg::PgCatalogEmulation::IsCatalogQuery(input) && size <= (16 << 10)) {
    (void)loch::pg::RewriteCatalogQuery(input);
  }
  // The first line is the statement, the rest an error message that may quote it.
  const size_t newline = input.find('\n');
  if (newline != std::string_view::npos) {
    (void)loch::pg::ErrorPosition(input.substr(0, newline), input.substr(newline + 1));
  }
  return 0;
}
