#include "libs/api_routes/route.h"

namespace switchyard::api_routes {
namespace {

// One single-node swarm, in the native VM, as Docker Desktop has: a swarm
// spans engines, and two managers behind one API would be two swarms.
// Swarm-scoped and overlay networks follow it there.
constexpr absl::string_view kSwarm = "the swarm lives in the native VM";

}  // namespace

std::vector<RouteEntry> SwarmRoutes() {
  using R = Routing;
  return {
      {"GET", "/nodes", "NodeList", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/nodes/{id}", "NodeInspect", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"DELETE", "/nodes/{id}", "NodeDelete", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/nodes/{id}/update", "NodeUpdate", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/swarm", "SwarmInspect", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/swarm/init", "SwarmInit", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/swarm/join", "SwarmJoin", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/swarm/leave", "SwarmLeave", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/swarm/update", "SwarmUpdate", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/swarm/unlockkey", "SwarmUnlockKey", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/swarm/unlock", "SwarmUnlock", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/services", "ServiceList", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/services/create", "ServiceCreate", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/services/{id}", "ServiceInspect", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"DELETE", "/services/{id}", "ServiceDelete", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/services/{id}/update", "ServiceUpdate", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/services/{id}/logs", "ServiceLogs", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/tasks", "TaskList", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/tasks/{id}", "TaskInspect", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/tasks/{id}/logs", "TaskLogs", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/secrets", "SecretList", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/secrets/create", "SecretCreate", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/secrets/{id}", "SecretInspect", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"DELETE", "/secrets/{id}", "SecretDelete", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/secrets/{id}/update", "SecretUpdate", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/configs", "ConfigList", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/configs/create", "ConfigCreate", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"GET", "/configs/{id}", "ConfigInspect", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"DELETE", "/configs/{id}", "ConfigDelete", R::kNativeOnly, Merge::kNone, {}, kSwarm},
      {"POST", "/configs/{id}/update", "ConfigUpdate", R::kNativeOnly, Merge::kNone, {}, kSwarm},
  };
}

}  // namespace switchyard::api_routes
