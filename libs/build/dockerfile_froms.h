#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::build {

// One FROM of a Dockerfile, its ARGs expanded.
struct BaseImage {
  std::string image;     // "busybox:1", or "" for scratch and earlier stages
  std::string platform;  // its --platform flag, expanded; "" when none
};

// The images a classic build starts from: the FROM of every stage up to
// `target` (every stage when empty), as the classic builder builds them,
// with global ARGs (defaults, overridden by `build_args`) expanded. Stages
// built FROM an earlier stage and FROM scratch name no image.
// InvalidArgument when there is no FROM or `target` names no stage: the
// builder itself says so in its words, so the caller sends it anyway.
absl::StatusOr<std::vector<BaseImage>> BaseImages(absl::string_view dockerfile, absl::string_view target,
                                                  const std::map<std::string, std::string>& build_args);

}  // namespace switchyard::build
