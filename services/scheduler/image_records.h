#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/registry/store.h"

namespace switchyard::scheduler {

// Keeps the registry's image placements: which VM holds each image and the
// rule that put it there. Pulls and loads note their decision when they are
// routed; the images themselves are read from each guest when the registry
// is reconciled, so whatever arrived (or went) by any path is recorded.
class ImageRecords {
 public:
  explicit ImageRecords(registry::Store* store) : store_(store) {}

  void NotePull(const std::string& reference, const std::string& backend, const std::string& rule);
  void NoteLoad(const std::string& backend, const std::string& rule, absl::Time now = absl::Now());

  // Brings `backend`'s records in line with its /images/json rows.
  absl::Status Sync(const std::string& backend, const nlohmann::json& rows, absl::Time now = absl::Now());

 private:
  std::optional<std::string> RuleFor(const std::string& backend, const nlohmann::json& tags, absl::Time now);

  registry::Store* store_;
  absl::Mutex mu_;
  // "<backend>|<normalized reference>" → rule of its latest pull.
  absl::flat_hash_map<std::string, std::string> pulls_ ABSL_GUARDED_BY(mu_);
  struct Load {
    std::string rule;
    absl::Time at;
  };
  absl::flat_hash_map<std::string, Load> loads_ ABSL_GUARDED_BY(mu_);  // by backend
};

}  // namespace switchyard::scheduler
