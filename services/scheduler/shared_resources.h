#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "libs/registry/store.h"
#include "libs/resolve/container_resolver.h"
#include "services/scheduler/backend_client.h"
#include "services/scheduler/placer.h"

namespace switchyard::scheduler {

// User-defined networks and named volumes: what a group shares. One is made
// before anything uses it, so it is made in every VM (or only in its Compose
// project's VM once that is placed); the first container that uses it
// settles it in that container's VM and the unused copy elsewhere is
// removed. Containers follow a settled network or volume to its VM.
// Each VM's dockerd has its own address pools, so subnets never overlap.
class SharedResources {
 public:
  using ContainerResolver = std::function<absl::StatusOr<resolve::Resolution>(const std::string& ref)>;

  SharedResources(std::vector<BackendClient*> backends, registry::Store* store, ContainerResolver resolve);

  // /networks… and /volumes… calls, answered whole: lists merged by name,
  // creates made where the resource may be used, deletes everywhere.
  absl::StatusOr<EngineReply> Networks(const std::string& method, const std::string& target,
                                       const std::string& body);
  absl::StatusOr<EngineReply> Volumes(const std::string& method, const std::string& target,
                                      const std::string& body);

  // The VM a create body must go to because a network or volume it names
  // lives only there; InvalidArgument when they live in different VMs.
  absl::StatusOr<std::optional<ResourcePin>> PinFor(const nlohmann::json& spec);
  // After a container was created on `backend`: the networks and volumes it
  // names settle there; unused copies in other VMs are removed.
  void Settle(const nlohmann::json& spec, BackendClient& backend, const std::string& group_id);

  // The user-defined networks and named volumes a create body names.
  static std::vector<std::string> NetworksOf(const nlohmann::json& spec);
  static std::vector<std::string> VolumesOf(const nlohmann::json& spec);

 private:
  BackendClient* Backend(const std::string& name) const;
  // Backends where GET /<kind>/<name> answers 200, with the answers.
  std::vector<std::pair<BackendClient*, nlohmann::json>> Holders(const std::string& kind, const std::string& name);
  // The targets of a create: a placed Compose project's VM, else every VM.
  std::vector<BackendClient*> CreateTargets(const nlohmann::json& spec);
  absl::StatusOr<EngineReply> CreateEverywhere(const std::string& kind, const std::string& target,
                                               const std::string& body);
  absl::StatusOr<EngineReply> Prune(const std::string& target, const std::string& deleted_key);
  // A network id the client got from create, whose copy was removed when the
  // network settled elsewhere: the name it goes by.
  std::string NetworkName(const std::string& ref);

  std::vector<BackendClient*> backends_;
  registry::Store* store_;
  ContainerResolver resolve_;
};

}  // namespace switchyard::scheduler
