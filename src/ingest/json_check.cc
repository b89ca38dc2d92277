#include "ingest/json_check.h"

#include <simdjson.h>

namespace loch {

bool IsJsonValue(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  // The DOM parser validates the whole text; it copies into its own padded buffer when needed.
  simdjson::dom::element element;
  return parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(element) ==
         simdjson::SUCCESS;
}

}  // namespace loch
