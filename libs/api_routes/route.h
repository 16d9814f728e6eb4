#pragma once

#include "absl/strings/string_view.h"
#include <vector>

namespace switchyard::api_routes {

// How a Docker API call is routed over the two VMs. Every endpoint of the
// Engine API names one of these on purpose; nothing falls through.
enum class Routing {
  // Answered by a typed scheduler call the gateway makes: the control plane
  // must read or change the request (create, lists, info, events, ping).
  kTyped,
  // The container named in the path, resolved across both VMs.
  kContainerInPath,
  // The container named in the query (`/commit?container=`).
  kContainerInQuery,
  // The exec instance named in the path, where it was created.
  kExecInPath,
  // A VM that holds the image named in the path.
  kImageInPath,
  // Every VM that holds the image named in the path (tag, remove).
  kImageEverywhere,
  // The VM holding the images the query names (`/images/get?names=`).
  kImagesInQuery,
  // Placed by platform and manifest like a container (`/images/create`).
  kPlacedPull,
  // Read whole, then placed by the archive's architecture (`/images/load`).
  kSpooledLoad,
  // A build: placed by its platform.
  kPlacedBuild,
  // A BuildKit session (h2c): where the build that names it runs.
  kBuildSession,
  // BuildKit's control API (buildx's /grpc, h2c): each call routed on its
  // own across both VMs (services/scheduler/buildkit/).
  kBuildkitApi,
  // User-defined networks and named volumes: a resource a group shares.
  kSharedResource,
  // Asked of every VM; the answers merged into one (prune, disk usage).
  kFanOutMerge,
  // The same answer from either engine (registry auth, search): the native VM.
  kEitherEngine,
  // Held by the native VM alone, by decision (swarm, plugins): see `why`.
  kNativeOnly,
};

// How the answers of a kFanOutMerge route become one.
enum class Merge {
  kNone,
  kPrune,      // the `merge_key` lists joined, SpaceReclaimed summed
  kDiskUsage,  // /system/df: lists joined, sizes summed
  kAnySuccess, // the first success, else the first answer
};

struct RouteEntry {
  absl::string_view method;   // "GET", "POST", "PUT", "DELETE", "HEAD"
  // moby's path template: "{id}" is one path segment, "{name*}" one or more
  // (image references and link names carry slashes).
  absl::string_view pattern;
  absl::string_view handler;  // moby's handler name, for logs and tests
  Routing routing;
  Merge merge = Merge::kNone;
  absl::string_view merge_key = {};  // the list a prune answers with
  absl::string_view why = {};        // for kNativeOnly: the decision
};

// One router per Docker resource, as moby's api/server/router/<resource>.
std::vector<RouteEntry> ContainerRoutes();
std::vector<RouteEntry> ExecRoutes();
std::vector<RouteEntry> ImageRoutes();
std::vector<RouteEntry> NetworkRoutes();
std::vector<RouteEntry> VolumeRoutes();
std::vector<RouteEntry> SystemRoutes();
std::vector<RouteEntry> BuildRoutes();
std::vector<RouteEntry> SessionRoutes();
std::vector<RouteEntry> SwarmRoutes();
std::vector<RouteEntry> PluginRoutes();
std::vector<RouteEntry> DistributionRoutes();

}  // namespace switchyard::api_routes
