#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace switchyard::vmm {

// One QEMU VM as the qemu driver boots it: a kernel and initramfs from the
// guest image (tools/guest-image), a raw data disk, user-mode networking,
// the agent's virtio-serial port on a host Unix socket, and host
// directories shared over 9p.
struct QemuVm {
  std::string qemu_bin;   // qemu-system-x86_64 / qemu-system-aarch64
  std::string guest_arch; // "x86_64", "aarch64"
  std::string name;       // "switchyard-hv"
  std::string accel;      // kvm, hvf, tcg
  int cpus = 2;
  int memory_mib = 2048;
  // Booted by its kernel (PVH on x86), or with UEFI `firmware` from
  // `efi_disk`, as krunkit boots; then its settings are on `settings_disk`.
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  std::string firmware;
  std::string efi_disk;
  std::string settings_disk;
  std::string data_disk;
  // The agent's transport: vsock where the host has /dev/vhost-vsock (the
  // guest's context id, unique on the host), else a virtio-serial port.
  uint32_t vsock_cid = 0;
  std::string serial_socket;     // host end of the agent's port (QEMU listens)
  std::string serial_port_name;  // what the guest finds it by
  std::string console_log;
  std::string pidfile;
  std::vector<std::pair<std::string, std::string>> shares;  // mount tag, host directory
};

// QEMU's command line for `vm`.
std::vector<std::string> QemuArgs(const QemuVm& vm);

// A value inside a QEMU option list: commas doubled, as QEMU reads them.
std::string QemuOptionValue(const std::string& value);

// A guest context id for the VM whose state is in `state_dir`: the same on
// every boot (an adopted VM keeps it), spread over the 32-bit space above
// the reserved ids 0-2 so two VMs on a host do not meet.
uint32_t VsockCid(const std::string& state_dir);

// The kernel file of a guest image (tools/guest-image) for a guest of
// `guest_arch` (uname): x86 boots the ELF vmlinux through its PVH entry,
// arm64 its uncompressed Image.
std::string GuestKernelFile(const std::string& guest_arch);

// Debian's UEFI firmware for QEMU guests of `guest_arch` (ovmf, qemu-efi-aarch64).
std::string DefaultFirmware(const std::string& guest_arch);

// The mount tag of the n-th host share ("sy0", "sy1", …).
std::string ShareTag(size_t n);

}  // namespace switchyard::vmm
