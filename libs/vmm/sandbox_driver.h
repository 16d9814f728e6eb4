#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "libs/vmm/host_process.h"
#include "libs/vmm/vm_driver.h"

namespace switchyard::vmm {

// A "VM" made of Linux namespaces (mount, pid, net, uts, ipc): the agent is
// PID 1 of a fresh pid namespace, with a private /proc and /run, and a NAT'd
// link to the host through slirp4netns (host loopback at 10.0.2.2).
//
// The VM outlives its manager, as a real VM outlives a crashed controller:
// <state_dir>/vm.json names its processes, and the next manager adopts it.
// While it owns the VM the driver holds the agent's lease
// (<state_dir>/manager.sock); a VM whose lease nobody takes back shuts itself
// down, and slirp4netns ends with the VM (its exit fd's only writers are the
// VM's processes).
class SandboxDriver : public VmDriver {
 public:
  explicit SandboxDriver(std::string slirp_bin = "/usr/bin/slirp4netns");
  ~SandboxDriver() override;

  std::string Name() const override { return "sandbox"; }
  absl::Status Boot(const VmSpec& spec) override;
  bool Adopt(const VmSpec& spec) override;
  absl::Status Stop(absl::Duration grace) override;
  pid_t Pid() const override { return agent_.pid; }
  bool IsRunning() override;
  std::string ExitReason() const override { return exit_reason_; }
  std::string AgentEndpoint() const override;
  // <state_dir>/tunnel.sock: the agent's default, standing in for vsock 1025.
  std::string TunnelEndpoint() const override;
  // The sandbox runs on the host's kernel: the host's binfmt_misc is the guest's.
  Expected ExpectedBeforeBoot(const VmSpec& spec) const override;
  std::string HandoffEndpoint() const override;

 private:
  std::string RecordPath() const;
  std::string LeaseEndpoint() const;
  void HoldLease();
  void KillSlirp();
  void RemoveCgroups();

  std::string slirp_bin_;
  VmSpec spec_;
  HostProcess agent_;
  HostProcess slirp_;
  int lease_fd_ = -1;
  std::string exit_reason_;
};

// Pure pieces, unit-tested.

// The agent's command line for `spec`, agent socket at `agent_socket`.
std::vector<std::string> AgentArgs(const VmSpec& spec, const std::string& agent_socket);

// slirp4netns giving the namespace of `pid` a tap0 with 10.0.2.100 and the
// host's loopback at 10.0.2.2; writes "1" to `ready_fd` when configured and
// exits once `exit_fd` (a pipe's read end) reaches EOF.
std::vector<std::string> SlirpArgs(const std::string& slirp_bin, pid_t pid, int ready_fd, int exit_fd);

// The memory cgroup a sandbox VM runs in: `cgroup_parent` (where dockerd
// also puts its containers) in the unified hierarchy, or in v1's memory
// controller; "" when neither is mounted under `cgroup_root`.
std::string VmMemoryCgroup(const std::string& cgroup_parent, const std::string& cgroup_root = "/sys/fs/cgroup");

// Every cgroup directory dockerd may have created under `cgroup_parent`, in
// each hierarchy mounted under `cgroup_root` (v1 controllers and unified),
// deepest first so they can be rmdir'ed in order.
std::vector<std::string> CgroupDirsToRemove(const std::string& cgroup_root,
                                            const std::string& cgroup_parent);


}  // namespace switchyard::vmm
