#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/ports/port_table.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// The one host-port space of both VMs. Guests are the truth for what runs:
// each backend's published ports are re-read from its engine whenever a
// container starts or dies there (its event stream), and handed whole to its
// VM manager, which binds the host listeners. Starts that publish ports are
// checked against every backend first, so two VMs never both take one port.
class PortKeeper {
 public:
  // `backends` outlive the keeper. `first`/`last`: the range for ports the
  // user left empty (dockerd's is the host's ip_local_port_range).
  PortKeeper(std::vector<BackendClient*> backends, int first, int last);
  ~PortKeeper();

  // Watches every backend's events and re-sends each VM manager its
  // listeners every `resync` (a restarted manager gets them back).
  void Run(absl::Duration resync = absl::Seconds(2));
  void Shutdown();

  // Gives every empty, ranged or -P binding of a create body a free host port.
  absl::Status AssignHostPorts(nlohmann::json& spec, BackendClient& backend, const std::string& api_version);

  // Starts (or restarts) container `id` through `target`, refusing with
  // dockerd's error when another container holds one of its host ports, and
  // returns once its host listeners are bound.
  absl::StatusOr<EngineReply> Start(BackendClient& backend, const std::string& target, const std::string& id);

  // Re-reads what `backend` publishes and syncs its VM manager. Returns the
  // ports its manager could not bind.
  absl::StatusOr<std::vector<switchyard::vmm::v1::PortFailure>> Refresh(BackendClient& backend);

  std::vector<ports::Claim> Claims();

 private:
  void Watch(BackendClient* backend);
  bool HostCanBind(const ports::PortBinding& binding);

  std::vector<BackendClient*> backends_;
  const int first_;
  const int last_;

  // Serializes starts that publish ports: check, claim, start, bind.
  absl::Mutex start_mu_;
  absl::Mutex mu_;
  ports::PortTable table_ ABSL_GUARDED_BY(mu_);
  // Claims of containers being started, until their guest lists them.
  absl::flat_hash_map<std::string, std::vector<ports::Claim>> pending_ ABSL_GUARDED_BY(mu_);
  // Ports handed to created containers that have not started yet.
  absl::flat_hash_map<std::string, absl::Time> assigned_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> cursor_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, switchyard::vmm::v1::SyncPortsRequest> last_sync_ ABSL_GUARDED_BY(mu_);
  // One refresh per backend at a time, so an older listing never overwrites a newer one.
  absl::flat_hash_map<std::string, std::unique_ptr<absl::Mutex>> refresh_mu_;

  std::atomic<bool> stopping_{false};
  absl::Notification stop_;
  absl::Mutex watch_mu_;
  std::vector<std::shared_ptr<grpc::ClientContext>> watch_contexts_ ABSL_GUARDED_BY(watch_mu_);
  std::vector<std::thread> threads_;
};

// The host's ephemeral port range, as dockerd reads it; 49153-65535 when unknown.
std::pair<int, int> EphemeralPortRange();

}  // namespace switchyard::scheduler
