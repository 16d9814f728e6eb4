#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace switchyard::scheduler {

// Which workload group a container create asks to join, read from the
// create body alone (no lookups).
struct GroupRef {
  enum class Kind { kCompose, kPod, kShared, kAlone };
  Kind kind = Kind::kAlone;
  std::string id;                    // "compose:P", "pod:UID"; for kShared, filled after resolving
  // kShared: the containers X of container:X / --volumes-from X, each once,
  // in the order the body names them.
  std::vector<std::string> shares_with;
  std::vector<std::string> compose_files;  // kCompose: the project's files
};

// Errors when the body names groups that conflict (a pod member sharing
// namespaces with a container of another pod, say).
absl::StatusOr<GroupRef> GroupRefFor(const nlohmann::json& spec);

}  // namespace switchyard::scheduler
