#include "pgwire/startup_options.h"

#include <vector>

namespace loch::pg {
namespace {

// Splits at unescaped spaces; a backslash keeps the character after it.
std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      word += text[++i];
    } else if (text[i] == ' ') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += text[i];
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

}  // namespace

std::string WorkgroupOfStartupOptions(std::string_view options) {
  std::string workgroup = "primary";
  const std::vector<std::string> words = Words(options);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view setting = words[i];
    if (setting == "-c" && i + 1 < words.size()) {
      setting = words[++i];
    } else if (setting.starts_with("-c")) {
      setting.remove_prefix(2);
    } else if (setting.starts_with("--")) {
      setting.remove_prefix(2);
    } else {
      continue;
    }
    const size_t equals = setting.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = setting.substr(0, equals);
    const std::string_view value = setting.substr(equals + 1);
    if ((name == "workgroup" || name == "loch.workgroup") && !value.empty()) {
      workgroup = std::string(value);
    }
  }
  return workgroup;
}

}  // namespace loch::pg
