#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "libs/placement/group_policy.h"
#include "libs/placement/routing_policy.h"
#include "services/scheduler/backend_views.h"
#include "services/scheduler/image_platforms.h"

namespace switchyard::scheduler {

// Where the workload groups live, as the registry records them.
struct GroupDirectory {
  std::function<placement::GroupState(const std::string& group_id)> group;
  // The group of an existing container named by id, name or prefix.
  std::function<absl::StatusOr<std::string>(const std::string& container_ref)> group_of_container;
};

struct PlacedWorkload {
  placement::Decision decision;
  std::string group_id;  // empty for a lone container: its group is named after its id once created
  bool group_is_new = false;
  // Other groups, on the same backend, whose containers this one shares
  // namespaces with: they become members of `group_id`.
  std::vector<std::string> merged_groups;
};

// A network or volume the container names lives only in this VM.
struct ResourcePin {
  std::string backend;
  std::string what;  // "network shop_default", "volume data"
};

struct PlacerSettings {
  placement::RoutingConfig routing;
  bool allow_mixed_groups = false;  // experimental.mixed_groups
};

// Decides the backend of one container create: the routing table for the
// container itself, then its group's rules (Compose project, pod, shared
// namespaces). Reads what it needs (backend state, image platforms, group
// records, compose files); changes nothing.
class Placer {
 public:
  Placer(PlacerSettings settings, BackendViews* views, ImagePlatforms* images, GroupDirectory groups)
      : settings_(std::move(settings)), views_(views), images_(images), groups_(std::move(groups)) {}

  // `pin`: the VM the container's networks and volumes tie it to, if any.
  absl::StatusOr<PlacedWorkload> Place(const std::string& platform, const nlohmann::json& spec,
                                       const std::optional<ResourcePin>& pin = std::nullopt);
  // The backend an image pull lands in.
  absl::StatusOr<placement::Decision> PlacePull(const std::string& platform, const std::string& image);
  // The backend a classic build runs in: every stage's base image (with its
  // --platform) placed as one group, as a Compose project's services are.
  struct BuildBase {
    std::string platform;
    std::string image;
  };
  absl::StatusOr<placement::Decision> PlaceBuild(const std::vector<BuildBase>& bases);
  // The backend an image of `arch` (from a loaded archive) lands in.
  absl::StatusOr<placement::Decision> PlaceArch(const std::string& arch);

  const PlacerSettings& settings() const { return settings_; }

 private:
  absl::StatusOr<placement::Decision> Alone(const std::string& platform, const std::string& image,
                                            const placement::BackendView& hv, const placement::BackendView& vz);
  absl::StatusOr<PlacedWorkload> PlaceInGroup(const std::string& platform, const nlohmann::json& spec);
  // A Compose project's first member: the whole project from its files.
  absl::StatusOr<placement::Decision> PlaceProject(const std::string& group_id,
                                                   const std::vector<std::string>& files,
                                                   const placement::Decision& alone,
                                                   const placement::BackendView& hv, const placement::BackendView& vz);

  PlacerSettings settings_;
  BackendViews* views_;
  ImagePlatforms* images_;
  GroupDirectory groups_;
};

}  // namespace switchyard::scheduler
