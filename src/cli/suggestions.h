#pragma once
// "Did you mean ...?" for a command line CLI11 refused: a misspelled subcommand or option.

#include <optional>
#include <string>

#include "CLI/CLI.hpp"

namespace loch::cli {

// Follows `argv` down `app`'s subcommands and returns a hint for the first word that is neither a
// subcommand nor an option there but is close to one ("did you mean --format?"); nullopt if none
// is close.
std::optional<std::string> SuggestionFor(CLI::App& app, int argc, const char* const* argv);

}  // namespace loch::cli
