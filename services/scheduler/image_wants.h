#pragma once

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::scheduler {

// Remembers which backend a container create was refused on for want of its
// image. The Docker CLI answers that 404 by pulling the image without a
// platform and creating again; the pull must then land where the create
// goes (a pinned or translated group), not where the image's native variant
// would send a plain pull. Entries expire: they only bridge that round trip.
class ImageWants {
 public:
  explicit ImageWants(absl::Duration ttl = absl::Minutes(2)) : ttl_(ttl) {}

  void Note(const std::string& image, const std::string& backend, absl::Time now = absl::Now());
  // The backend a recent create wanted `image` on, if any.
  std::optional<std::string> Find(const std::string& image, absl::Time now = absl::Now());
  void Forget(const std::string& image);

  // The key both sides agree on: "busybox" and "docker.io/library/busybox:latest" match.
  static std::string Key(const std::string& image);

 private:
  const absl::Duration ttl_;
  absl::Mutex mu_;
  struct Want {
    std::string backend;
    absl::Time noted;
  };
  absl::flat_hash_map<std::string, Want> wants_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::scheduler
