#include "engine/session_functions.h"

#include "common/strings.h"
#include "common/version.h"
#include "fmt/format.h"

namespace loch {

const char* const kLochDatabaseName = "lake";

std::string LochVersionText() {
  return fmt::format("PostgreSQL 15.0 on loch {} (DuckDB engine)", LochVersion());
}

std::string SessionFunctionsSql(const std::string& user) {
  return fmt::format(
      "CREATE OR REPLACE TEMP MACRO version() AS {0};\n"
      "CREATE OR REPLACE TEMP MACRO current_database() AS {1};\n"
      "CREATE OR REPLACE TEMP MACRO current_user() AS {2};\n"
      "CREATE OR REPLACE TEMP MACRO session_user() AS {2};\n",
      QuoteLiteral(LochVersionText()), QuoteLiteral(kLochDatabaseName), QuoteLiteral(user));
}

}  // namespace loch
