// What the web console's clients send (server/console_sessions.h, server/dashboard_spec.h): the
// input's first line names the parser, the rest is the input.
//   cookie     a Cookie header, read for the session cookie
//   dashboard  a dashboard definition (JSON) as PUT /api/v1/dashboards takes it
//   query      a saved query's body (JSON) as PUT /api/v1/saved-queries takes it
//   bind       SQL, then after a NUL byte "name=value" lines: the parameters of a dashboard with
//              date, text and number parameters bound into the SQL's {{placeholders}}
// Parsing must refuse with a status, never crash; a definition that parses must survive its own
// JSON form unchanged; a bound query binds at most one value per parameter, none of them NULL.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "server/console_sessions.h"
#include "server/dashboard_spec.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

nlohmann::json ParseJson(std::string_view text) {
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

void Dashboard(std::string_view text) {
  const nlohmann::json definition = ParseJson(text);
  if (definition.is_discarded()) return;
  absl::StatusOr<loch::DashboardSpec> spec = loch::DashboardFromJson(definition);
  if (!spec.ok()) return;
  const nlohmann::json written = loch::DashboardToJson(*spec);
  absl::StatusOr<loch::DashboardSpec> again = loch::DashboardFromJson(written);
  if (!again.ok() || loch::DashboardToJson(*again) != written) Fail("a definition changed");
}

void Bind(std::string_view input) {
  const size_t nul = input.find('\0');
  const std::string_view sql = input.substr(0, nul);
  std::map<std::string, std::string> values;
  if (nul != std::string_view::npos) {
    for (const std::string_view line : loch::Split(input.substr(nul + 1), '\n')) {
      const size_t equals = line.find('=');
      if (equals != std::string_view::npos) {
        values[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
      }
    }
  }
  const std::vector<loch::DashboardParameter> parameters = {
      {"from", "date", "2026-01-01"}, {"who", "text", ""}, {"n", "number", "1"}};
  absl::StatusOr<loch::BoundSql> bound = loch::BindDashboardParameters(sql, parameters, values);
  if (!bound.ok()) return;
  if (bound->parameters.size() > parameters.size()) Fail("more values than parameters");
  for (const loch::QueryParameter& parameter : bound->parameters) {
    if (!parameter.value.has_value()) Fail("a NULL value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view parser = input.substr(0, newline);
  const std::string_view rest = input.substr(newline + 1);
  if (parser == "cookie") {
    if (auto value = loch::CookieValue(rest, loch::kConsoleSessionCookie);
        value && value->size() > rest.size()) {
      Fail("a cookie longer than its header");
    }
  } else if (parser == "dashboard") {
    Dashboard(rest);
  } else if (parser == "query") {
    const nlohmann::json body = ParseJson(rest);
    if (!body.is_discarded()) (void)loch::SavedQueryFromJson(body);
  } else if (parser == "bind") {
    Bind(rest);
  }
  return 0;
}
