#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/vmm/vm_driver.h"
#include "services/vmm/asleep_answers.h"
#include "services/vmm/port_forwarder.h"
#include "switchyard/agent/v1/agent.grpc.pb.h"
#include "switchyard/vmm/v1/vmm.grpc.pb.h"

namespace switchyard::vmm {

// Opens a stub to the agent at a driver's endpoint (a Unix socket here).
using AgentConnector =
    std::function<std::shared_ptr<switchyard::agent::v1::GuestAgent::StubInterface>(const std::string& endpoint)>;
AgentConnector UnixAgentConnector();

struct VmManagerOptions {
  absl::Duration agent_boot_timeout = absl::Seconds(60);
  absl::Duration poll_interval = absl::Seconds(1);
  absl::Duration stop_grace = absl::Seconds(25);
  absl::Duration max_reboot_backoff = absl::Seconds(30);
  // How long an engine call waits for a booting VM (its guest engine not yet
  // answering) before it fails, unless the caller's deadline is sooner.
  absl::Duration boot_wait = absl::Seconds(60);
  // False: the VM sleeps until a call needs it (the translating VM).
  bool boot_at_start = true;
  // Stop the VM after this long without activity (idle_rules.h); zero: never.
  absl::Duration idle_stop = absl::ZeroDuration();
  PortForwarderOptions ports;
};

// Boots one VM through its driver, watches it (rebooting with backoff when
// it dies), reports its state, relays engine calls to its agent, and owns
// the host listeners of the VM's published ports.
class VmManagerService final : public switchyard::vmm::v1::VmManager::Service {
 public:
  VmManagerService(std::unique_ptr<VmDriver> driver, VmSpec spec, AgentConnector connector,
                   VmManagerOptions options = {});
  ~VmManagerService() override;

  // Starts booting and watching in the background.
  void Start();
  // Closes every port listener, stops the VM (gracefully) and the watcher.
  // Idempotent.
  void Shutdown();

  grpc::Status GetVmStatus(grpc::ServerContext* context, const switchyard::vmm::v1::GetVmStatusRequest* request,
                           switchyard::vmm::v1::GetVmStatusResponse* response) override;
  grpc::Status EngineCall(grpc::ServerContext* context,
                          grpc::ServerReaderWriter<switchyard::types::v1::EngineFrame,
                                                   switchyard::types::v1::EngineFrame>* stream) override;
  grpc::Status EngineExchange(grpc::ServerContext* context, const switchyard::types::v1::DockerRequest* request,
                              switchyard::types::v1::DockerReply* reply) override;
  grpc::Status SyncPorts(grpc::ServerContext* context, const switchyard::vmm::v1::SyncPortsRequest* request,
                         switchyard::vmm::v1::SyncPortsResponse* response) override;

 private:
  // The agent stub while the VM serves, else UNAVAILABLE naming the backend.
  // A sleeping VM is woken for it, unless the call is `passive`.
  absl::StatusOr<std::shared_ptr<switchyard::agent::v1::GuestAgent::StubInterface>> ReachableAgent(
      const grpc::ServerContext& context, bool passive = false);
  // While the VM sleeps: the answer its engine would give, from what it
  // last reported; nullopt when the call needs the VM.
  std::optional<switchyard::types::v1::DockerReply> AsleepAnswer(const std::string& method,
                                                                  const std::string& target);
  // Counts an engine call as activity for its lifetime (idle stop).
  class CallScope {
   public:
    CallScope(VmManagerService& vmm, bool counted);
    ~CallScope();

   private:
    VmManagerService& vmm_;
    bool counted_;
  };

  // The watcher thread. It alone touches the driver (drivers are not
  // thread-safe).
  void Run();
  // Boots, or with `adopt` first tries to take over the VM a previous
  // manager left running, then waits for the agent; false with the reason
  // set on failure.
  bool BootOnce(bool adopt);
  // Watches a booted VM until it dies (returns why), goes idle (sets
  // `idle` and returns why) or we stop ("").
  std::string Watch(bool* idle);
  // When the VM may go to sleep: why, with the guest's container counts.
  std::optional<std::string> IdleReason();
  // Records what the engine reports, stops the VM, and sleeps until a call wakes it.
  // False when the VM stays up (a call came, or its engine cannot be read).
  bool GoToSleep(const std::string& why);
  // Stops the VM for good (the manager is shutting down).
  void Halt();
  // Waits, asleep, for a call to wake the VM; false when stopping.
  bool AwaitWake();
  // One GET against the guest engine (the asleep snapshot, idle checks).
  absl::StatusOr<std::pair<int, std::string>> EngineGet(const std::string& target);
  // One GetInfo; updates state from it. Returns whether the agent answered.
  bool Poll(absl::Duration timeout, std::string* error);
  // A raw stream to the agent's tunnel endpoint, for the port forwarder.
  absl::StatusOr<int> DialTunnel();
  absl::StatusOr<int> DialHandoff();
  // Replaces the agent connection with a freshly dialed one.
  void Redial();
  void SetState(switchyard::vmm::v1::VmState state, std::string error);
  bool SleepUnlessStopping(absl::Duration d);

  const std::unique_ptr<VmDriver> driver_;
  const VmSpec spec_;
  const AgentConnector connector_;
  const VmManagerOptions options_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  switchyard::vmm::v1::VmState state_ ABSL_GUARDED_BY(mu_) = switchyard::vmm::v1::VM_STATE_BOOTING;
  std::string error_ ABSL_GUARDED_BY(mu_);
  bool agent_reachable_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<switchyard::agent::v1::GuestAgent::StubInterface> agent_ ABSL_GUARDED_BY(mu_);
  switchyard::agent::v1::GetInfoResponse info_ ABSL_GUARDED_BY(mu_);
  int64_t vm_pid_ ABSL_GUARDED_BY(mu_) = 0;
  std::string accelerator_ ABSL_GUARDED_BY(mu_);  // the driver's, once booted
  // Read by tunnel dials on connection threads; the driver is not.
  std::string tunnel_endpoint_ ABSL_GUARDED_BY(mu_);
  std::string handoff_endpoint_ ABSL_GUARDED_BY(mu_);
  // Sleeping and waking (lazy start, idle stop).
  bool wake_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool adopted_ = false;  // the watcher's: a VM found running before the first boot
  std::string last_stop_ ABSL_GUARDED_BY(mu_);
  int calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_call_ ABSL_GUARDED_BY(mu_) = absl::Now();
  std::optional<AsleepSnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  VmDriver::Expected expected_ ABSL_GUARDED_BY(mu_);

  // Last: its connection threads dial through this service.
  PortForwarder ports_;
};

}  // namespace switchyard::vmm
