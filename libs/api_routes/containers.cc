#include "libs/api_routes/route.h"

namespace switchyard::api_routes {

std::vector<RouteEntry> ContainerRoutes() {
  using R = Routing;
  return {
      {"GET", "/containers/json", "ContainerList", R::kTyped},
      {"POST", "/containers/create", "ContainerCreate", R::kTyped},
      {"POST", "/containers/prune", "ContainersPrune", R::kFanOutMerge, Merge::kPrune, "ContainersDeleted"},
      {"GET", "/containers/{id}/json", "ContainerInspect", R::kContainerInPath},
      {"GET", "/containers/{id}/top", "ContainerTop", R::kContainerInPath},
      {"GET", "/containers/{id}/logs", "ContainerLogs", R::kContainerInPath},
      {"GET", "/containers/{id}/changes", "ContainerChanges", R::kContainerInPath},
      {"GET", "/containers/{id}/export", "ContainerExport", R::kContainerInPath},
      {"GET", "/containers/{id}/stats", "ContainerStats", R::kContainerInPath},
      {"POST", "/containers/{id}/resize", "ContainerResize", R::kContainerInPath},
      {"POST", "/containers/{id}/start", "ContainerStart", R::kContainerInPath},
      {"POST", "/containers/{id}/stop", "ContainerStop", R::kContainerInPath},
      {"POST", "/containers/{id}/restart", "ContainerRestart", R::kContainerInPath},
      {"POST", "/containers/{id}/kill", "ContainerKill", R::kContainerInPath},
      {"POST", "/containers/{id}/update", "ContainerUpdate", R::kContainerInPath},
      {"POST", "/containers/{id}/rename", "ContainerRename", R::kContainerInPath},
      {"POST", "/containers/{id}/pause", "ContainerPause", R::kContainerInPath},
      {"POST", "/containers/{id}/unpause", "ContainerUnpause", R::kContainerInPath},
      {"POST", "/containers/{id}/attach", "ContainerAttach", R::kContainerInPath},
      {"GET", "/containers/{id}/attach/ws", "ContainerAttachWebsocket", R::kContainerInPath},
      {"POST", "/containers/{id}/wait", "ContainerWait", R::kContainerInPath},
      // "{name*}": `docker rm --link` removes the link /parent/alias.
      {"DELETE", "/containers/{name*}", "ContainerDelete", R::kContainerInPath},
      {"HEAD", "/containers/{id}/archive", "ContainerArchiveInfo", R::kContainerInPath},
      {"GET", "/containers/{id}/archive", "ContainerArchive", R::kContainerInPath},
      {"PUT", "/containers/{id}/archive", "PutContainerArchive", R::kContainerInPath},
      {"POST", "/containers/{id}/exec", "ContainerExecCreate", R::kContainerInPath},
      {"POST", "/commit", "ImageCommit", R::kContainerInQuery},
  };
}

}  // namespace switchyard::api_routes
