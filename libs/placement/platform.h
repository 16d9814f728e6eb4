#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::placement {

// An OCI platform as dockerd 20.10 parses one (containerd 1.4's
// platforms.Parse): "x86_64" → "amd64", "aarch64" → "arm64", "armhf" →
// "arm", "armel" → "arm" with "v6".
struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
};

// The arch alone, as routing keys it: "x86_64" → "amd64", "armhf" → "arm".
std::string NormalizeArch(absl::string_view arch);

// Parses "linux/arm64/v8", "linux/amd64", "arm64", "linux/armhf" as dockerd
// does. InvalidArgument, with dockerd's wording, for anything else and for
// an arch or OS switchyard places nothing on.
absl::StatusOr<Platform> ParsePlatform(absl::string_view text);

// As dockerd writes a platform in its errors: "linux/arm/v7", the variant
// only when there is one.
std::string PlatformString(const Platform& platform);

// Whether an image of `image` platform serves a request for `wanted`, as
// dockerd's create checks it: the same OS; the same arch with an older or
// no variant (an arm/v6 image serves arm/v7); arm64 also takes arm (v5–v8).
bool PlatformMatches(const Platform& wanted, const Platform& image);

}  // namespace switchyard::placement
