#pragma once
// The `options` startup parameter: command-line style settings a client sends when it connects
// (libpq's `options` connection setting, or PGOPTIONS), e.g. "-c workgroup=etl". Words are
// separated by spaces (a backslash keeps the next character, spaces included); each setting is
// "-c NAME=VALUE", "-cNAME=VALUE" or "--NAME=VALUE". Unknown settings are ignored, as PostgreSQL
// ignores none, but loch has only this one.

#include <string>
#include <string_view>

namespace loch::pg {

// The workgroup `options` names (setting "workgroup" or "loch.workgroup"; the last one wins), or
// "primary". Linear in the input; never fails.
std::string WorkgroupOfStartupOptions(std::string_view options);

}  // namespace loch::pg
