#include "services/scheduler/group_ref.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/compose/compose_project.h"

namespace switchyard::scheduler {
namespace {

std::string StringAt(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return "";
  return obj[key].get<std::string>();
}

}  // namespace

absl::StatusOr<GroupRef> GroupRefFor(const nlohmann::json& spec) {
  GroupRef ref;
  const nlohmann::json labels = spec.is_object() && spec.contains("Labels") ? spec["Labels"] : nlohmann::json();
  const nlohmann::json host = spec.is_object() && spec.contains("HostConfig") ? spec["HostConfig"] : nlohmann::json();

  // Namespace sharing: --network/--pid/--ipc container:X, --volumes-from X.
  std::vector<std::string> shared;
  for (const char* mode : {"NetworkMode", "PidMode", "IpcMode"}) {
    std::string value = StringAt(host, mode);
    if (absl::StartsWith(value, "container:")) shared.push_back(value.substr(10));
  }
  if (host.is_object() && host.contains("VolumesFrom") && host["VolumesFrom"].is_array()) {
    for (const auto& v : host["VolumesFrom"]) {
      if (!v.is_string()) continue;
      std::string from = v.get<std::string>();
      shared.push_back(from.substr(0, from.find(':')));
    }
  }

  const std::string project = StringAt(labels, "com.docker.compose.project");
  const std::string pod = StringAt(labels, "io.kubernetes.pod.uid");
  if (!project.empty() && !pod.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("labels name two groups: compose project ", project,
                                                   " and pod ", pod));
  }
  if (!project.empty()) {
    ref.kind = GroupRef::Kind::kCompose;
    ref.id = absl::StrCat("compose:", project);
    ref.compose_files = compose::ConfigFiles(StringAt(labels, "com.docker.compose.project.config_files"),
                                             StringAt(labels, "com.docker.compose.project.working_dir"));
  } else if (!pod.empty()) {
    ref.kind = GroupRef::Kind::kPod;
    ref.id = absl::StrCat("pod:", pod);
  }
  for (const std::string& container : shared) {
    if (std::find(ref.shares_with.begin(), ref.shares_with.end(), container) == ref.shares_with.end()) {
      ref.shares_with.push_back(container);
    }
  }
  // Compose services with network_mode: service:x share within their
  // project; the shared container's group must then be the project's.
  if (!shared.empty() && ref.kind == GroupRef::Kind::kAlone) ref.kind = GroupRef::Kind::kShared;
  return ref;
}

}  // namespace switchyard::scheduler
