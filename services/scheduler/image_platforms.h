#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// Which archs an image offers: from the local image in each guest, else
// from the registry's manifest list / OCI index.
class ImagePlatforms {
 public:
  using RegistryLookup = std::function<absl::StatusOr<std::vector<std::string>>(const std::string& image)>;

  ImagePlatforms(std::vector<BackendClient*> backends, RegistryLookup registry);

  // Normalized archs ("amd64", "arm64"); empty when nobody knows the image.
  std::vector<std::string> Archs(const std::string& image);
  // Only the registry's answer (for pulls, which must see every variant).
  std::vector<std::string> RegistryArchs(const std::string& image);

 private:
  std::vector<BackendClient*> backends_;
  RegistryLookup registry_;
};

}  // namespace switchyard::scheduler
