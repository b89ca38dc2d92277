#include "catalog/sqlite_documents.h"

#include "catalog/sqlite_db.h"
#include "catalog/sqlite_journal.h"
#include "common/clock.h"
#include "fmt/format.h"

namespace loch {
namespace {

using sqlite::Statement;

constexpr const char* kColumns =
    "SELECT kind, name, version, definition, created_micros, created_by FROM documents";
// The live versions of (?1 kind, ?2 name): those after its last deletion.
constexpr const char* kLive =
    "kind = ?1 AND name = ?2 AND deleted = 0 AND version > (SELECT coalesce(max(version), 0) "
    "FROM documents WHERE kind = ?1 AND name = ?2 AND deleted = 1)";
// The newest row of (?1 kind, ?2 name), a deletion's too.
constexpr const char* kNewest =
    "SELECT version, deleted, created_micros, created_by FROM documents WHERE kind = ?1 AND "
    "name = ?2 ORDER BY version DESC LIMIT 1";

SavedDocument FromRow(const Statement& row) {
  nlohmann::json definition = nlohmann::json::parse(row.Text(3), nullptr, false);
  if (definition.is_discarded()) definition = nlohmann::json::object();
  return SavedDocument{row.Text(0),           row.Text(1), row.Int(2),
                       std::move(definition), row.Int(4),  row.Text(5)};
}

// What a kind is called in messages: "saved_query" -> "saved query".
std::string KindName(std::string_view kind) {
  std::string name(kind);
  for (char& c : name) {
    if (c == '_') c = ' ';
  }
  return name;
}

absl::Status Unknown(std::string_view kind, std::string_view name) {
  return absl::NotFoundError(fmt::format("no {} \"{}\"", KindName(kind), name));
}

absl::Status CheckKey(std::string_view kind, std::string_view name) {
  constexpr size_t kMaxNameBytes = 256;
  if (kind.empty() || name.empty() || name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        fmt::format("a {} needs a name of 1 to {} bytes", KindName(kind), kMaxNameBytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SavedDocument> SqliteDocuments::Put(const SavedDocument& document,
                                                   int64_t base_version) {
  RETURN_IF_ERROR(CheckKey(document.kind, document.name));
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  // Versions are never given twice (a deletion is a version too): a save made from a version of
  // a document that was deleted, and perhaps created again since, is refused.
  Statement newest(db_, kNewest);
  newest.Bind(1, document.kind).Bind(2, document.name);
  const bool any = newest.Step();
  RETURN_IF_ERROR(newest.status());
  const int64_t newest_version = any ? newest.Int(0) : 0;
  const bool live = any && newest.Int(1) == 0;
  const int64_t current_version = live ? newest_version : 0;
  if (current_version != base_version) {
    if (!live) {
      return absl::AbortedError(fmt::format("{} \"{}\" no longer exists (it was deleted)",
                                            KindName(document.kind), document.name));
    }
    return absl::AbortedError(fmt::format(
        "{} \"{}\" was saved by {} at {} (version {}){}: open it again to see their changes",
        KindName(document.kind), document.name, newest.Text(3), FormatIsoMicros(newest.Int(2)),
        newest_version,
        base_version == 0 ? ", so the name is taken"
                          : fmt::format(" since you opened version {}", base_version)));
  }
  SavedDocument stored = document;
  stored.version = newest_version + 1;
  stored.created_micros = NowMicros();
  Statement insert(db_,
                   "INSERT INTO documents(kind, name, version, definition, created_micros, "
                   "created_by) VALUES (?, ?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(
      insert.Bind(1, stored.kind)
          .Bind(2, stored.name)
          .Bind(3, stored.version)
          .Bind(4, stored.definition.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))
          .Bind(5, stored.created_micros)
          .Bind(6, stored.created_by)
          .Run());
  RETURN_IF_ERROR(txn.Commit());
  return stored;
}

absl::StatusOr<SavedDocument> SqliteDocuments::Get(std::string_view kind, std::string_view name,
                                                   std::optional<int64_t> version) {
  std::lock_guard lock(mu_);
  Statement query(db_, fmt::format("{} WHERE {} AND (?3 IS NULL OR version = ?3) ORDER BY "
                                   "version DESC LIMIT 1",
                                   kColumns, kLive));
  query.Bind(1, kind).Bind(2, name);
  if (version) {
    query.Bind(3, *version);
  } else {
    query.BindNull(3);
  }
  if (query.Step()) return FromRow(query);
  RETURN_IF_ERROR(query.status());
  if (version) {
    Statement exists(db_, fmt::format("SELECT 1 FROM documents WHERE {}", kLive));
    if (exists.Bind(1, kind).Bind(2, name).Step()) {
      return absl::NotFoundError(
          fmt::format("{} \"{}\" has no version {}", KindName(kind), name, *version));
    }
  }
  return Unknown(kind, name);
}

absl::StatusOr<std::vector<SavedDocument>> SqliteDocuments::List(std::string_view kind) {
  std::lock_guard lock(mu_);
  Statement query(db_, fmt::format("{} AS d WHERE kind = ?1 AND deleted = 0 AND version = "
                                   "(SELECT max(version) FROM documents WHERE kind = d.kind AND "
                                   "name = d.name) ORDER BY name",
                                   kColumns));
  query.Bind(1, kind);
  std::vector<SavedDocument> documents;
  while (query.Step()) documents.push_back(FromRow(query));
  RETURN_IF_ERROR(query.status());
  return documents;
}

absl::StatusOr<std::vector<SavedDocument>> SqliteDocuments::Versions(std::string_view kind,
                                                                     std::string_view name) {
  std::lock_guard lock(mu_);
  Statement query(db_, fmt::format("{} WHERE {} ORDER BY version", kColumns, kLive));
  query.Bind(1, kind).Bind(2, name);
  std::vector<SavedDocument> versions;
  while (query.Step()) versions.push_back(FromRow(query));
  RETURN_IF_ERROR(query.status());
  if (versions.empty()) return Unknown(kind, name);
  return versions;
}

absl::Status SqliteDocuments::Delete(std::string_view kind, std::string_view name) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement newest(db_, kNewest);
  newest.Bind(1, kind).Bind(2, name);
  const bool any = newest.Step();
  RETURN_IF_ERROR(newest.status());
  if (!any || newest.Int(1) != 0) return Unknown(kind, name);
  // The versions go; one row, the deletion, stays so that their numbers are never given again.
  const int64_t deletion = newest.Int(0) + 1;
  Statement remove(db_, "DELETE FROM documents WHERE kind = ? AND name = ?");
  RETURN_IF_ERROR(remove.Bind(1, kind).Bind(2, name).Run());
  Statement insert(db_,
                   "INSERT INTO documents(kind, name, version, definition, created_micros, "
                   "created_by, deleted) VALUES (?, ?, ?, '{}', ?, '', 1)");
  RETURN_IF_ERROR(insert.Bind(1, kind).Bind(2, name).Bind(3, deletion).Bind(4, NowMicros()).Run());
  return txn.Commit();
}

}  // namespace loch
