#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/placement/placement_policy.h"
#include "libs/resolve/container_resolver.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// Where a forwarded call goes, and the target rewritten for that backend.
struct ForwardRoute {
  BackendClient* backend = nullptr;
  std::string target;
  // Answered whole by the scheduler (it must see the body or the answer),
  // rather than relayed as a stream.
  bool handle_whole = false;
};

// Every decision of the scheduler over its backends: placement, name and
// id resolution across VMs, merged lists. No gRPC server types here.
class SchedulerCore {
 public:
  SchedulerCore(std::vector<std::unique_ptr<BackendClient>> backends,
                std::unique_ptr<placement::PlacementPolicy> policy);

  absl::StatusOr<EngineReply> CreateContainer(const std::string& api_version,
                                              const std::string& name,
                                              const std::string& platform,
                                              const std::string& body);
  absl::StatusOr<EngineReply> ListContainers(const std::string& api_version, const std::string& query);
  absl::StatusOr<EngineReply> ListImages(const std::string& api_version, const std::string& query);
  absl::StatusOr<EngineReply> SystemInfo(const std::string& api_version);
  absl::StatusOr<EngineReply> Version(const std::string& api_version);

  // Routes a call by the object its path names.
  absl::StatusOr<ForwardRoute> RouteForward(const std::string& method, const std::string& target);
  // Performs a call that RouteForward marked handle_whole.
  absl::StatusOr<EngineReply> ForwardWhole(const ForwardRoute& route, const std::string& method,
                                           const std::string& body);

  absl::StatusOr<resolve::Resolution> ResolveContainer(const std::string& ref);
  absl::StatusOr<std::string> RuleFor(const std::string& container_id);

  const std::vector<std::unique_ptr<BackendClient>>& backends() const { return backends_; }
  BackendClient* Backend(const std::string& name) const;

 private:
  absl::StatusOr<resolve::Resolution> ResolveExec(const std::string& exec_id);
  // Backends whose engine has image `name`, in backend order.
  std::vector<BackendClient*> BackendsWithImage(const std::string& api_version, const std::string& name);
  // Docker's name-conflict error when `name` is taken in a backend other than `except`.
  absl::Status CheckNameFree(const std::string& name, const std::string& except_backend);
  absl::StatusOr<EngineReply> ExecCreate(const ForwardRoute& route, const std::string& body);
  absl::StatusOr<EngineReply> Rename(const ForwardRoute& route);
  absl::StatusOr<EngineReply> RemoveImage(const ForwardRoute& route);
  void Remember(const std::string& id, const std::string& backend, const std::string& rule);

  std::vector<std::unique_ptr<BackendClient>> backends_;
  std::unique_ptr<placement::PlacementPolicy> policy_;
  // Serializes name checks with the create or rename that takes the name,
  // so two VMs never both accept one name.
  absl::Mutex names_mu_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> container_backend_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> container_rule_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> exec_backend_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::scheduler
