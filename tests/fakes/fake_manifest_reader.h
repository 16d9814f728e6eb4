#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/registry_client/manifest_reader.h"

namespace switchyard::registry_client {

// A registry that exists only in memory. Images are keyed by their full
// normalized reference (ImageReference::ToString()); unknown images answer
// NotFound with dockerd's wording. Thread-safe.
class FakeManifestReader : public ManifestReader {
 public:
  void SetPlatforms(const std::string& reference, std::vector<Platform> platforms) {
    absl::MutexLock lock(&mu_);
    images_[Key(reference)] = std::move(platforms);
  }
  void SetError(const std::string& reference, absl::Status status) {
    absl::MutexLock lock(&mu_);
    errors_[Key(reference)] = std::move(status);
  }
  // Every call fails with this status (e.g. Unavailable) until reset with OkStatus.
  void SetUnavailable(absl::Status status) {
    absl::MutexLock lock(&mu_);
    global_error_ = std::move(status);
  }

  absl::StatusOr<std::vector<Platform>> Platforms(const ImageReference& ref) override {
    absl::MutexLock lock(&mu_);
    std::string key = ref.ToString();
    calls_.push_back(key);
    if (!global_error_.ok()) return global_error_;
    if (auto it = errors_.find(key); it != errors_.end()) return it->second;
    if (auto it = images_.find(key); it != images_.end()) return it->second;
    return absl::NotFoundError(absl::StrCat("manifest for ", ref.FamiliarString(),
                                            " not found: manifest unknown: manifest unknown"));
  }

  std::vector<std::string> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  static std::string Key(const std::string& reference) {
    absl::StatusOr<ImageReference> ref = ParseReference(reference);
    return ref.ok() ? ref->ToString() : reference;
  }

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::vector<Platform>> images_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Status> errors_ ABSL_GUARDED_BY(mu_);
  absl::Status global_error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::registry_client
