#include "services/scheduler/image_records.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "services/scheduler/image_wants.h"

namespace switchyard::scheduler {
namespace {

using json = nlohmann::json;

// An archive's images show up at the next reconcile: a load noted this
// recently explains images the registry has not seen before.
constexpr absl::Duration kLoadWindow = absl::Minutes(2);

}  // namespace

void ImageRecords::NotePull(const std::string& reference, const std::string& backend, const std::string& rule) {
  absl::MutexLock lock(&mu_);
  pulls_[absl::StrCat(backend, "|", ImageWants::Key(reference))] = rule;
}

void ImageRecords::NoteLoad(const std::string& backend, const std::string& rule, absl::Time now) {
  absl::MutexLock lock(&mu_);
  loads_[backend] = {rule, now};
}

std::optional<std::string> ImageRecords::RuleFor(const std::string& backend, const json& tags, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (tags.is_array()) {
    for (const json& t : tags) {
      if (!t.is_string()) continue;
      auto it = pulls_.find(absl::StrCat(backend, "|", ImageWants::Key(t.get<std::string>())));
      if (it != pulls_.end()) return absl::StrCat("pulled: ", it->second);
    }
  }
  auto load = loads_.find(backend);
  if (load != loads_.end() && now - load->second.at <= kLoadWindow) {
    return absl::StrCat("loaded: ", load->second.rule);
  }
  return std::nullopt;
}

absl::Status ImageRecords::Sync(const std::string& backend, const json& rows, absl::Time now) {
  if (!rows.is_array()) return absl::InvalidArgumentError("image list is not an array");
  absl::StatusOr<std::vector<registry::ImageRecord>> recorded = store_->ListImages();
  if (!recorded.ok()) return recorded.status();
  std::set<std::string> present;
  return store_->Apply([&](registry::Store& tx) -> absl::Status {
    for (const json& row : rows) {
      if (!row.is_object() || !row.contains("Id") || !row["Id"].is_string()) continue;
      const std::string id = row["Id"].get<std::string>();
      present.insert(id);
      const json& tags = row.contains("RepoTags") ? row["RepoTags"] : json();
      std::string reference;
      if (tags.is_array() && !tags.empty() && tags[0].is_string()) reference = tags[0].get<std::string>();
      absl::StatusOr<registry::ImageRecord> known = tx.GetImage(id, backend);
      std::optional<std::string> rule = RuleFor(backend, tags, now);
      if (known.ok() && (!rule.has_value() || known->rule == *rule) && known->reference == reference) continue;
      const std::string kept = known.ok() ? known->rule : "found in the VM at reconcile (made behind switchyard's back)";
      if (absl::Status s = tx.PutImage({id, reference, backend, rule.value_or(kept)}); !s.ok()) return s;
    }
    for (const registry::ImageRecord& r : *recorded) {
      if (r.backend != backend || present.contains(r.image_id)) continue;
      if (absl::Status s = tx.DeleteImage(r.image_id, backend); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

}  // namespace switchyard::scheduler
