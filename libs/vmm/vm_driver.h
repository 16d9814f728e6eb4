#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "guest-agent/capabilities.h"

namespace switchyard::vmm {

// Everything a driver needs to boot one utility VM with a guest agent and a
// guest dockerd inside.
struct VmSpec {
  std::string backend;    // "hv" or "vz"
  std::string state_dir;  // persistent per-VM directory (never under /run)
  std::string agent_bin;  // switchyard-agent, run as the guest's PID 1
  std::string dockerd_bin = "/usr/sbin/dockerd";
  // busybox-<arch> binaries that prove each translator at boot.
  std::string probe_dir = agent::kDefaultProbeDir;
  // Guest dockerd networking and cgroups; disjoint between VMs.
  std::string bip;                   // e.g. "172.30.0.1/24"
  std::string default_address_pool;  // e.g. "172.31.0.0/16"
  std::string cgroup_parent;         // e.g. "/switchyard-hv"
  // Host loopback TCP ports the guest reaches on its own 127.0.0.1.
  std::vector<int> loopback_forward_ports;
  std::vector<std::string> insecure_registries;
  std::string hostname;
  // The agent takes the VM down once no manager has held it this long
  // (guest-agent/manager_lease.h): long enough for a crashed manager to be
  // restarted and take the VM over, short enough that none is left unowned.
  absl::Duration manager_grace = absl::Seconds(30);
};

// Boots, watches and stops one VM. Not thread-safe: one owner calls it.
class VmDriver {
 public:
  virtual ~VmDriver() = default;

  // "sandbox", "vfkit", …
  virtual std::string Name() const = 0;
  // Starts the VM; returns once its agent process runs (it may not answer yet).
  virtual absl::Status Boot(const VmSpec& spec) = 0;
  // Takes over the VM that a previous manager of the same state directory
  // left running (it crashed or was killed), if it was booted with the same
  // spec: true when taken, and no Boot is needed. False otherwise; whatever
  // was left of such a VM is then stopped and cleaned first.
  virtual bool Adopt(const VmSpec& spec) { return false; }
  // Asks the guest to shut down, waits `grace`, then kills it, and removes
  // everything the VM left on the host.
  virtual absl::Status Stop(absl::Duration grace) = 0;
  // Host pid of the VM (the agent in the sandbox), 0 when not running.
  virtual pid_t Pid() const = 0;
  // False once the VM has exited; ExitReason() then says why.
  virtual bool IsRunning() = 0;
  virtual std::string ExitReason() const = 0;
  // Where the guest agent's gRPC endpoint is (a Unix socket path in the
  // sandbox, standing in for vsock port 1024).
  virtual std::string AgentEndpoint() const = 0;
  // Where the guest agent's raw port-tunnel endpoint is (libs/tunnel): a
  // Unix socket path in the sandbox. In a real VM it is vsock port 1025,
  // reached through the hypervisor's socket device (vfkit/krunkit expose a
  // vsock port as a host Unix socket, so a path still fits); a driver whose
  // transport needs a handshake will want a dial function here instead.
  virtual std::string TunnelEndpoint() const = 0;
  // Where the agent takes lent host listeners (libs/tunnel/handoff.h), or
  // "" when it cannot: only a guest on the host's own kernel can hold a host
  // socket, so a hypervisor driver keeps the default.
  virtual std::string HandoffEndpoint() const { return ""; }
  // What the guest's kernel arch and translators will be, known without
  // booting it, for placing work on a VM that sleeps until it is needed;
  // empty when only a boot can tell. The guest agent's report replaces it
  // once the VM runs.
  struct Expected {
    std::string kernel_arch;
    std::vector<agent::TranslatorProbe> probes;  // proven (ran) or not
  };
  virtual Expected ExpectedBeforeBoot(const VmSpec& spec) const { return {}; }
  // A hypervisor's accelerator and why it was chosen, once booted or
  // adopted; "" for a driver without one (the sandbox).
  virtual std::string Accelerator() const { return ""; }
};

}  // namespace switchyard::vmm
