#pragma once
// What a crawl covers and the policies it follows; saved crawlers store this (as JSON) in the
// catalog.

#include <string>
#include <vector>

#include "common/status.h"
#include "nlohmann/json.hpp"

namespace loch {

// A change to the type of a column a table already has (a widening such as BIGINT -> DOUBLE, or a
// conflict that would turn it into VARCHAR). New columns are always added.
enum class SchemaChangePolicy {
  kUpdate,  // change the table's schema
  kLog,     // keep the schema; files that would need the change are not added (reported)
  kFail,    // the table is not changed at all in this run (reported as failed)
};

// Objects a table holds that are no longer in the store.
enum class DeletePolicy {
  kLog,        // report them; the table keeps them (queries reading them will fail)
  kDelete,     // remove them from the table; a table with nothing left is dropped
  kDeprecate,  // remove them; a table with nothing left stays, marked deprecated
};

enum class RecrawlPolicy {
  kNew,         // read only objects not seen before (key + ETag)
  kEverything,  // read every object again and rebuild the tables' schemas from them
};

struct CrawlRequest {
  std::vector<std::string> prefixes;  // e.g. "raw/"
  std::string database;
  SchemaChangePolicy schema_change = SchemaChangePolicy::kUpdate;
  DeletePolicy deletes = DeletePolicy::kLog;
  RecrawlPolicy recrawl = RecrawlPolicy::kNew;
  // A saved crawler's schedule: `loch serve` runs it then (a cron expression, common/cron.h, in
  // `timezone`); "" for none.
  std::string schedule;
  std::string timezone = "UTC";
};

const char* PolicyName(SchemaChangePolicy policy);
const char* PolicyName(DeletePolicy policy);
const char* PolicyName(RecrawlPolicy policy);
// Parse the names above ("update", "log", "fail", "delete", "deprecate", "everything", "new").
absl::StatusOr<SchemaChangePolicy> ParseSchemaChangePolicy(const std::string& name);
absl::StatusOr<DeletePolicy> ParseDeletePolicy(const std::string& name);
absl::StatusOr<RecrawlPolicy> ParseRecrawlPolicy(const std::string& name);

nlohmann::json CrawlRequestToJson(const CrawlRequest& request);
// InvalidArgument naming the field that is missing or wrong.
absl::StatusOr<CrawlRequest> CrawlRequestFromJson(const nlohmann::json& json);

}  // namespace loch
