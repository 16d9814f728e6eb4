#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::placement {

// An OCI platform, normalized the way containerd's platforms package does
// ("x86_64" → "amd64", "aarch64" → "arm64").
struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
};

std::string NormalizeArch(absl::string_view arch);

// Parses "linux/arm64/v8", "linux/amd64", "arm64". InvalidArgument for
// anything else, with dockerd's wording.
absl::StatusOr<Platform> ParsePlatform(absl::string_view text);

}  // namespace switchyard::placement
