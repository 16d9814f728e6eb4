#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libs/stream_mux/mux_link.h"
#include "libs/tunnel/port_relay.h"
#include "libs/vmm/accelerator.h"
#include "libs/vmm/host_process.h"
#include "libs/vmm/qemu_command.h"
#include "libs/vmm/vm_driver.h"

namespace switchyard::vmm {

struct QemuDriverOptions {
  // tools/guest-image's output: vmlinux, initrd.img, manifest.json.
  std::string image_dir;
  std::string qemu_bin;  // "": qemu-system-<host arch> in /usr/bin
  std::string accel;     // "": chosen by ChooseAccelerator
  int cpus = 2;
  int memory_mib = 2048;
  int disk_gib = 64;     // the data disk's size (a sparse file)
  // Host directories the guest mounts at the same paths (bind mounts).
  std::vector<std::string> shares;
  // binfmt handlers the guest registers ("qemu-aarch64"), from the image.
  std::vector<std::string> translators;
  // Where the host offers vsock to guests; without it, virtio-serial.
  std::string vhost_vsock = "/dev/vhost-vsock";
};

// A real VM under QEMU with its own kernel (the guest image). The agent is
// reached over a virtio-serial port multiplexed into the same Unix sockets
// the sandbox offers (<state_dir>/agent.sock, tunnel.sock, manager.sock,
// 0600), so the VM manager above is unchanged. Like the sandbox VM, it
// outlives its manager: <state_dir>/vm.json names the QEMU process, and the
// next manager adopts it and takes the agent's lease back.
class QemuDriver : public VmDriver {
 public:
  explicit QemuDriver(QemuDriverOptions options);
  ~QemuDriver() override;

  std::string Name() const override { return "qemu"; }
  absl::Status Boot(const VmSpec& spec) override;
  bool Adopt(const VmSpec& spec) override;
  absl::Status Stop(absl::Duration grace) override;
  pid_t Pid() const override { return qemu_.pid; }
  bool IsRunning() override;
  std::string ExitReason() const override { return exit_reason_; }
  std::string AgentEndpoint() const override;
  std::string TunnelEndpoint() const override;
  Expected ExpectedBeforeBoot(const VmSpec& spec) const override;

  // The accelerator in use and why ("tcg: no usable /dev/kvm …").
  std::string Accelerator() const override { return accelerator_; }

 private:
  absl::StatusOr<QemuVm> Plan(const VmSpec& spec) const;
  std::string RecordPath() const;
  std::string LeaseEndpoint() const;
  // The VM manager's way to the agent: Unix sockets in the state dir,
  // joined to the guest over vsock or the serial port.
  absl::Status StartLink();
  void HoldLease();
  void Cleanup();

  QemuDriverOptions options_;
  VmSpec spec_;
  HostProcess qemu_;
  std::unique_ptr<stream_mux::MuxLink> link_;    // virtio-serial
  std::unique_ptr<tunnel::PortRelay> relay_;     // vhost-vsock
  uint32_t vsock_cid_ = 0;
  int lease_fd_ = -1;
  std::string accelerator_;
  std::string exit_reason_;
};

// The agent's command line inside the guest for `spec`, reached over vsock
// or over the virtio-serial port.
std::vector<std::string> GuestAgentArgs(const VmSpec& spec, bool vsock);

// Where tools/guest-image/build puts the newest image for this host's arch.
std::string DefaultGuestImage();

// The name of the agent's virtio-serial port.
inline constexpr char kAgentSerialPort[] = "switchyard.agent";

}  // namespace switchyard::vmm
