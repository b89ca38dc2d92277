#include "cli/suggestions.h"

#include <string_view>
#include <vector>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch::cli {

std::optional<std::string> SuggestionFor(CLI::App& app, int argc, const char* const* argv) {
  CLI::App* command = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word.starts_with("--")) {
      const std::string name(word.substr(2, word.find('=') == std::string_view::npos
                                                ? std::string_view::npos
                                                : word.find('=') - 2));
      std::vector<std::string> options;
      for (const CLI::Option* option : command->get_options()) {
        for (const std::string& long_name : option->get_lnames()) {
          if (long_name == name) options.clear();
          options.push_back(long_name);
        }
      }
      if (std::optional<std::string> closest = ClosestMatch(name, options))
        return fmt::format("did you mean --{}?", *closest);
      continue;
    }
    if (word.starts_with("-")) continue;
    CLI::App* named = nullptr;
    std::vector<std::string> names;
    for (CLI::App* sub : command->get_subcommands({})) {
      if (sub->check_name(std::string(word))) named = sub;
      names.push_back(sub->get_name());
    }
    if (named != nullptr) {
      command = named;
      continue;
    }
    if (names.empty()) continue;  // a positional argument
    if (std::optional<std::string> closest = ClosestMatch(word, names))
      return fmt::format("did you mean `{}`?", *closest);
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace loch::cli
