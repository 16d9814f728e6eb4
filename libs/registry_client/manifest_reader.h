#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "libs/registry_client/image_reference.h"

namespace switchyard::registry_client {

// One platform an image offers, as the OCI image spec writes it
// (architecture "amd64"/"arm64", variant "v8"; not normalized).
struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;

  // "linux/arm64/v8", "linux/amd64".
  std::string ToString() const {
    return variant.empty() ? absl::StrCat(os, "/", architecture) : absl::StrCat(os, "/", architecture, "/", variant);
  }
  bool operator==(const Platform&) const = default;
};

// Tells which platforms an image in a registry offers. Errors use the
// project's vocabulary: NotFound (no such manifest or repository, with
// dockerd's wording), InvalidArgument (malformed reply), Unavailable
// (registry unreachable or failing), PermissionDenied (credentials refused).
class ManifestReader {
 public:
  virtual ~ManifestReader() = default;
  virtual absl::StatusOr<std::vector<Platform>> Platforms(const ImageReference& ref) = 0;
};

}  // namespace switchyard::registry_client
