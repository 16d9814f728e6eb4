#pragma once

#include <string>

#include "absl/status/status.h"

namespace switchyard::run_dir {

// Makes the service set's run directory (0700) or closes an existing one to
// at most 0710: only its owner lists it; its group (the Docker socket's, set
// by the gateway) may only pass through to docker.sock. Every service
// starting in any order calls it, so none undoes the gateway's grant.
absl::Status Prepare(const std::string& path);

}  // namespace switchyard::run_dir
