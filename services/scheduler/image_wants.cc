#include "services/scheduler/image_wants.h"

#include "libs/registry_client/image_reference.h"

namespace switchyard::scheduler {

std::string ImageWants::Key(const std::string& image) {
  absl::StatusOr<registry_client::ImageReference> ref = registry_client::ParseReference(image);
  return ref.ok() ? ref->ToString() : image;
}

void ImageWants::Note(const std::string& image, const std::string& backend, absl::Time now) {
  absl::MutexLock lock(&mu_);
  // Drop stale entries here so the map stays as small as the traffic.
  for (auto it = wants_.begin(); it != wants_.end();) {
    if (now - it->second.noted > ttl_) {
      wants_.erase(it++);
    } else {
      ++it;
    }
  }
  wants_[Key(image)] = {backend, now};
}

std::optional<std::string> ImageWants::Find(const std::string& image, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = wants_.find(Key(image));
  if (it == wants_.end() || now - it->second.noted > ttl_) return std::nullopt;
  return it->second.backend;
}

void ImageWants::Forget(const std::string& image) {
  absl::MutexLock lock(&mu_);
  wants_.erase(Key(image));
}

}  // namespace switchyard::scheduler
