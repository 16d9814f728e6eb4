#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/api_routes/route.h"
#include "libs/http/api_target.h"
#include "libs/registry/reconcile.h"
#include "libs/registry/store.h"
#include "libs/resolve/container_resolver.h"
#include "services/scheduler/backend_client.h"
#include "services/scheduler/backend_views.h"
#include "services/scheduler/build_sessions.h"
#include "services/scheduler/recent_builds.h"
#include "services/scheduler/image_copier.h"
#include "services/scheduler/image_platforms.h"
#include "services/scheduler/order_filters.h"
#include "services/scheduler/image_records.h"
#include "services/scheduler/image_wants.h"
#include "services/scheduler/placer.h"
#include "services/scheduler/port_keeper.h"
#include "services/scheduler/shared_resources.h"

namespace switchyard::scheduler {

// Marks a NotFound given while a VM could not be asked: the object may be there.
inline constexpr char kPartialAnswer[] = "switchyard.dev/partial-answer";

// A NotFound from every VM: dockerd itself may answer the request as sent,
// with its own precedence of errors (a malformed body before an unknown id).
bool NoVmHolds(const absl::Status& status);

// Where a forwarded call goes, and the target rewritten for that backend.
struct ForwardRoute {
  const api_routes::RouteEntry* entry = nullptr;  // the route table's entry
  BackendClient* backend = nullptr;
  std::string target;
  std::string object;  // what the path names, as the client named it
  std::string container_id;  // the container it resolved to, for the registry
  // Answered whole by the scheduler (it must see the body or the answer),
  // rather than relayed as a stream.
  bool handle_whole = false;
  // An image archive: read whole, then sent to the VM its architecture picks.
  bool spool_for_arch = false;
  // A classic build's context: read whole, then sent to the VM its
  // Dockerfile's FROM images pick (PlaceBuild).
  bool spool_for_build = false;
  // BuildKit's control API: served by the scheduler's per-call proxy.
  bool serve_buildkit = false;
  // A build placed here: its client is told where it runs in its first
  // progress line.
  std::optional<BuildDecision> build;
};

// Every decision of the scheduler over its backends: placement, name and
// id resolution across VMs, merged lists. No gRPC server types here.
class SchedulerCore {
 public:
  // `backends` are hv and vz, in that order. `store` outlives the core.
  SchedulerCore(std::vector<std::unique_ptr<BackendClient>> backends, PlacerSettings settings,
                ImagePlatforms::RegistryLookup registry_lookup, registry::Store* store);

  absl::StatusOr<EngineReply> CreateContainer(const std::string& api_version,
                                              const std::string& name,
                                              const std::string& platform,
                                              const std::string& body);
  absl::StatusOr<EngineReply> ListContainers(const std::string& api_version, const std::string& query);
  absl::StatusOr<EngineReply> ListImages(const std::string& api_version, const std::string& query);
  absl::StatusOr<EngineReply> SystemInfo(const std::string& api_version);
  absl::StatusOr<EngineReply> Version(const std::string& api_version);

  // Routes a call as the route table says (forward_routes.cc): NotFound
  // "page not found" for what dockerd does not serve.
  absl::StatusOr<ForwardRoute> RouteForward(const std::string& method, const std::string& target);
  // Performs a call that RouteForward marked handle_whole.
  absl::StatusOr<EngineReply> ForwardWhole(const ForwardRoute& route, const std::string& method,
                                           const std::string& body);

  absl::StatusOr<resolve::Resolution> ResolveContainer(const std::string& ref);
  // The backend a classic build runs in, from its spooled context's
  // Dockerfile and the build's query (build_placement.cc).
  absl::StatusOr<BuildDecision> PlaceBuild(std::FILE* build_context, const std::string& query);
  // Where a BuildKit build for `platform` runs; none named: the native VM,
  // whose platform BuildKit then builds for. Not recorded: the caller adds
  // the ref and tag it knows.
  absl::StatusOr<BuildDecision> PlaceBuildKit(const std::string& kind, const std::string& platform);
  RecentBuilds& recent_builds() { return recent_builds_; }
  // The backend an image archive of `arch` loads into ("" when unknown: native).
  absl::StatusOr<BackendClient*> PlaceLoad(const std::string& arch);
  // The registry's record of a container, named by id, name or prefix.
  absl::StatusOr<registry::WorkloadRecord> Explain(const std::string& ref);
  absl::StatusOr<registry::GroupRecord> PinGroup(const std::string& group_id, const std::string& backend);
  std::vector<std::pair<registry::GroupRecord, int64_t>> Groups();
  // Brings the registry in line with what the guests report: containers
  // created or removed behind the scheduler's back. Backends that do not
  // answer keep their records.
  absl::Status Reconcile();

  const std::vector<std::unique_ptr<BackendClient>>& backends() const { return backends_; }
  BuildSessions& build_sessions() { return build_sessions_; }
  PortKeeper& ports() { return *ports_; }
  BackendClient* Backend(const std::string& name) const;

 private:
  absl::StatusOr<resolve::Resolution> ResolveExec(const std::string& exec_id);
  // A list whose filters name objects by creation order (since=, before=).
  absl::StatusOr<EngineReply> ListOrdered(const std::string& kind, const std::string& api_version,
                                          const std::string& query, const OrderFilters& filters);
  // The exact creation time of a container or image ("containers", "images").
  absl::StatusOr<absl::Time> CreatedOf(const std::string& kind, const std::string& ref);
  // Copies `image` into `to` from a VM that holds it (image_follow.cc).
  // False when no VM holds it; an error when `to` cannot run its arch.
  // An image that does not serve `platform` copies nothing: NotFound with
  // dockerd's "was found but does not match the specified platform".
  absl::StatusOr<bool> BringImage(const std::string& image, const std::string& platform, BackendClient& to,
                                  const std::string& why);
  // Backends whose engine has image `name`, in backend order.
  std::vector<BackendClient*> BackendsWithImage(const std::string& api_version, const std::string& name);
  // Docker's name-conflict error when `name` is taken in a backend other than `except`.
  absl::Status CheckNameFree(const std::string& name, const std::string& except_backend);
  absl::StatusOr<EngineReply> ExecCreate(const ForwardRoute& route, const std::string& body);
  absl::StatusOr<EngineReply> Rename(const ForwardRoute& route);
  absl::StatusOr<ForwardRoute> RouteToContainer(ForwardRoute route, const http::ApiTarget& t,
                                                const std::string& object);
  absl::StatusOr<ForwardRoute> RoutePull(ForwardRoute route, const http::ApiTarget& t);
  // Tag or remove an image in every VM that holds it.
  absl::StatusOr<EngineReply> OnEveryHolder(const ForwardRoute& route, const std::string& method);
  absl::StatusOr<EngineReply> RemoveContainer(const ForwardRoute& route);
  absl::StatusOr<std::string> GroupOfContainer(const std::string& ref);
  placement::GroupState GroupState(const std::string& group_id);
  // Moves every member of `groups` into group `into` (same backend), in `tx`.
  static absl::Status MergeGroups(registry::Store& tx, const std::string& into, const std::vector<std::string>& groups);
  void Remember(const std::string& id, const std::string& backend);

  std::vector<std::unique_ptr<BackendClient>> backends_;
  registry::Store* store_;
  BackendViews views_;
  ImagePlatforms images_;
  Placer placer_;
  SharedResources resources_;
  ImageRecords image_records_;
  ImageWants image_wants_;
  ImageCopier image_copier_;
  BuildSessions build_sessions_;
  RecentBuilds recent_builds_;
  std::unique_ptr<PortKeeper> ports_;
  // Serializes name checks with the create or rename that takes the name,
  // so two VMs never both accept one name.
  absl::Mutex names_mu_;
  absl::Mutex mu_;
  // Where recently seen containers live: a cache for resolution, not a record.
  absl::flat_hash_map<std::string, std::string> container_backend_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::scheduler
