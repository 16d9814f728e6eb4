#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libs/stream_mux/mux_link.h"
#include "libs/tunnel/port_relay.h"
#include "libs/vmm/accelerator.h"
#include "libs/vmm/guest_settings.h"
#include "libs/vmm/hypervisor_driver.h"
#include "libs/vmm/qemu_command.h"

namespace switchyard::vmm {

struct QemuDriverOptions {
  // tools/guest-image's output: vmlinux, initrd.img, efi.img, manifest.json.
  std::string image_dir;
  std::string qemu_bin;  // "": qemu-system-<guest arch> in /usr/bin
  // The guest's kernel arch (uname: "x86_64", "aarch64"); "" is the host's.
  // Another arch (a Mac's arm64 guests, tried on an x86-64 machine) runs
  // under TCG, from an image built for it (tools/guest-image/build --arch).
  std::string guest_arch;
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
  // "kernel": QEMU loads the image's kernel and initramfs. "efi": UEFI
  // firmware boots the image's efi.img, as krunkit does (so that path is
  // tried on Linux); `firmware` "" is Debian's (DefaultFirmware).
  std::string boot = "kernel";
  std::string firmware;
};

// A real VM under QEMU with its own kernel (the guest image). The agent is
// reached over vhost-vsock where the host has it, else over a virtio-serial
// port multiplexed into the same Unix sockets (libs/stream_mux).
class QemuDriver : public HypervisorDriver {
 public:
  explicit QemuDriver(QemuDriverOptions options) : options_(std::move(options)) {}
  ~QemuDriver() override;

  std::string Name() const override { return "qemu"; }
  Expected ExpectedBeforeBoot(const VmSpec& spec) const override;

 protected:
  absl::StatusOr<Launch> Plan(const VmSpec& spec) const override;
  absl::Status Connect(const Launch& launch) override;
  void Disconnect() override;

 private:
  // options_.guest_arch, or the host's when it names none.
  std::string GuestArch() const;

  QemuDriverOptions options_;
  std::unique_ptr<stream_mux::MuxLink> link_;  // virtio-serial
  std::unique_ptr<tunnel::PortRelay> relay_;   // vhost-vsock
};

// The agent's command line inside the guest for `spec`, reached over vsock
// or over the virtio-serial port.
std::vector<std::string> GuestAgentArgs(const VmSpec& spec, bool vsock);

// Where tools/guest-image/build puts the newest image for the guest's
// kernel arch (`machine`, "" for this host's).
std::string DefaultGuestImage(const std::string& machine = "");

// This host's kernel arch (uname).
std::string HostMachine();

// The kernel arch (uname) of a guest of Docker arch `arch` ("amd64",
// "arm64"; "" is the host's), or InvalidArgument naming what is accepted.
absl::StatusOr<std::string> GuestMachine(const std::string& arch);

// The guest's view of what a VM with its own kernel runs, proven on the
// host: the host's probes of `translators`, until the guest reports its own.
VmDriver::Expected ExpectedFromHost(const std::string& probe_dir, const std::vector<std::string>& translators);

// The same for a guest of another arch (`machine`), whose translators are
// its image's own binaries and cannot run here: those of `translators` its
// image's manifest (`manifest_json`) lists are expected, until the guest's
// probe at boot proves them.
VmDriver::Expected ExpectedFromImage(const std::string& manifest_json, const std::string& machine,
                                     const std::vector<std::string>& translators);

// The name of the agent's virtio-serial port.
inline constexpr char kAgentSerialPort[] = "switchyard.agent";

}  // namespace switchyard::vmm
