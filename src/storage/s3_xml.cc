#include "storage/s3_xml.h"

#include <ctime>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

std::string ChildText(const tinyxml2::XMLElement* element, const char* name) {
  const tinyxml2::XMLElement* child =
      element != nullptr ? element->FirstChildElement(name) : nullptr;
  return child != nullptr && child->GetText() != nullptr ? child->GetText() : "";
}

std::string StripQuotes(std::string text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
    return text.substr(1, text.size() - 2);
  return text;
}

int64_t ParseTime(const std::string& text, const char* format) {
  struct tm tm {};
  if (strptime(text.c_str(), format, &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

absl::StatusOr<ListPage> ParseListObjectsV2(std::string_view body,
                                            const std::string& store_prefix) {
  tinyxml2::XMLDocument document;
  if (document.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) {
    return absl::InternalError("unreadable ListObjectsV2 answer");
  }
  const tinyxml2::XMLElement* root = document.FirstChildElement("ListBucketResult");
  ListPage page;
  for (const tinyxml2::XMLElement* item = root != nullptr ? root->FirstChildElement("Contents")
                                                          : nullptr;
       item != nullptr; item = item->NextSiblingElement("Contents")) {
    std::string key = ChildText(item, "Key");
    if (!key.starts_with(store_prefix)) continue;
    ObjectInfo info;
    info.key = key.substr(store_prefix.size());
    const std::string size_text = ChildText(item, "Size");
    const std::optional<int64_t> size = ParseInteger(size_text.empty() ? "0" : size_text, 0);
    if (!size) {
      return absl::DataLossError(fmt::format(
          "the store's listing gives \"{}\" the size \"{}\", not a number", key, size_text));
    }
    info.size = static_cast<uint64_t>(*size);
    info.etag = StripQuotes(ChildText(item, "ETag"));
    info.modified_micros = ParseTime(ChildText(item, "LastModified"), "%Y-%m-%dT%H:%M:%S");
    page.objects.push_back(std::move(info));
  }
  if (ChildText(root, "IsTruncated") == "true")
    page.next_token = ChildText(root, "NextContinuationToken");
  return page;
}

}  // namespace loch
