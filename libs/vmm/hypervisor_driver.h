#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/vmm/host_process.h"
#include "libs/vmm/vm_driver.h"

namespace switchyard::vmm {

// A VM with its own kernel, run by a hypervisor process (qemu, vfkit,
// krunkit) booted from the guest image. The VM manager reaches the agent
// through Unix sockets in the VM's state dir (agent.sock, tunnel.sock,
// manager.sock): the hypervisor offers them itself (vfkit's and krunkit's
// vsock "connect" mode), or a subclass joins them to the guest (qemu).
//
// The hypervisor process outlives its manager, as the sandbox VM does:
// <state_dir>/vm.json names it (pid, start time, command line) and the
// next manager adopts it and takes the agent's lease back. Stop asks the
// agent to shut the guest down through the lease, then ends the process.
class HypervisorDriver : public VmDriver {
 public:
  ~HypervisorDriver() override;

  absl::Status Boot(const VmSpec& spec) final;
  bool Adopt(const VmSpec& spec) final;
  absl::Status Stop(absl::Duration grace) final;
  bool IsRunning() final;
  pid_t Pid() const final { return process_.pid; }
  std::string ExitReason() const final { return exit_reason_; }
  std::string AgentEndpoint() const final { return StatePath("agent.sock"); }
  std::string TunnelEndpoint() const final { return StatePath("tunnel.sock"); }
  std::string Accelerator() const final { return accelerator_; }

  // One boot of the hypervisor.
  struct Launch {
    std::vector<std::string> args;  // its whole command line; the same spec gives the same one
    std::string data_disk;          // created as a sparse file when missing
    int disk_gib = 64;
    std::string accelerator;        // for `switchyard status`: what runs the guest, and why
    std::string transport;          // for the log: how the agent is reached
    uint32_t vsock_cid = 0;         // qemu with vhost-vsock: the guest's context id
    std::string serial_socket;      // qemu without: the agent port's host end
    // Written before each boot: path, contents (the guest's settings disk).
    std::vector<std::pair<std::string, std::string>> files;
    // Copied before a boot when missing or not the source's size and time:
    // source, destination (krunkit's own copy of the shared EFI disk).
    std::vector<std::pair<std::string, std::string>> copies;
  };

 protected:
  virtual absl::StatusOr<Launch> Plan(const VmSpec& spec) const = 0;
  // After the hypervisor started (or was adopted): join the endpoints to
  // the guest, unless the hypervisor makes them itself.
  virtual absl::Status Connect(const Launch& launch) { return absl::OkStatus(); }
  virtual void Disconnect() {}

  const VmSpec& spec() const { return spec_; }
  std::string StatePath(const std::string& name) const;
  std::string LeaseEndpoint() const { return StatePath("manager.sock"); }

 private:
  void HoldLease();
  void Cleanup();

  VmSpec spec_;
  HostProcess process_;
  int lease_fd_ = -1;
  std::string accelerator_;
  std::string exit_reason_;
};

}  // namespace switchyard::vmm
