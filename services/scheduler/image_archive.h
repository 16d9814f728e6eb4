#pragma once

#include <cstdio>
#include <string>

#include "absl/status/statusor.h"

namespace switchyard::scheduler {

// The architecture of the first image in a `docker save` archive (its
// manifest.json names the config, whose "architecture" tells), normalized.
// NotFound when the archive does not say; `archive` is read from its start.
absl::StatusOr<std::string> ArchiveArch(std::FILE* archive);

}  // namespace switchyard::scheduler
