#pragma once

#include <string>

#include "absl/strings/match.h"

namespace switchyard::scheduler {

// A container name as the registry keeps it: dockerd's "/web" is "web".
inline std::string StripSlash(const std::string& name) {
  return absl::StartsWith(name, "/") ? name.substr(1) : name;
}

}  // namespace switchyard::scheduler
