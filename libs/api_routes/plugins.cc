#include "libs/api_routes/route.h"

namespace switchyard::api_routes {
namespace {

// Managed plugins are installed in one engine, the native VM's: a plugin is
// a binary of one architecture, and its volumes and networks serve the
// workloads of that VM.
constexpr absl::string_view kPlugins = "plugins are managed in the native VM";

}  // namespace

std::vector<RouteEntry> PluginRoutes() {
  using R = Routing;
  return {
      {"GET", "/plugins", "PluginList", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"GET", "/plugins/privileges", "PluginPrivileges", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"POST", "/plugins/pull", "PluginPull", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"POST", "/plugins/create", "PluginCreate", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"GET", "/plugins/{name*}/json", "PluginInspect", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"DELETE", "/plugins/{name*}", "PluginDelete", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"POST", "/plugins/{name*}/enable", "PluginEnable", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"POST", "/plugins/{name*}/disable", "PluginDisable", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"POST", "/plugins/{name*}/upgrade", "PluginUpgrade", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"POST", "/plugins/{name*}/push", "PluginPush", R::kNativeOnly, Merge::kNone, {}, kPlugins},
      {"POST", "/plugins/{name*}/set", "PluginSet", R::kNativeOnly, Merge::kNone, {}, kPlugins},
  };
}

}  // namespace switchyard::api_routes
