#pragma once

#include <string>
#include <vector>

#include "libs/vmm/hypervisor_driver.h"
#include "libs/vmm/mac_vm_command.h"

namespace switchyard::vmm {

struct MacDriverOptions {
  std::string binary;     // vfkit / krunkit
  std::string image_dir;  // the guest image: Image (uncompressed arm64 kernel), initrd.img
  int cpus = 2;
  int memory_mib = 2048;
  int disk_gib = 64;
  std::vector<std::string> shares;       // virtio-fs, at the same paths
  std::vector<std::string> translators;  // "rosetta" (vz under vfkit), "fex-x86_64"
  // krunkit: the EFI disk it boots ("": the image's efi.img) and the
  // gvproxy/passt socket it needs.
  std::string efi_disk;
  std::string network_socket;
};

// vfkit (Virtualization.framework): the translating VM on a Mac, with
// Rosetta. The agent listens on vsock; vfkit offers each port as a Unix
// socket in the state dir ("connect" mode), so nothing joins them here.
// Built from vfkit's documentation; not run here (no macOS).
class VfkitDriver : public HypervisorDriver {
 public:
  explicit VfkitDriver(MacDriverOptions options) : options_(std::move(options)) {}
  std::string Name() const override { return "vfkit"; }

 protected:
  absl::StatusOr<Launch> Plan(const VmSpec& spec) const override;

 private:
  MacDriverOptions options_;
};

// krunkit (libkrun on Hypervisor.framework): the fast VM on a Mac. It boots
// only an EFI disk (the image's efi.img, copied per VM), so the data disk
// is the guest's /dev/vdb and the VM's settings come on a disk of their
// own; it needs a gvproxy or passt network. Built from krunkit's
// documentation; not run here (QEMU with UEFI firmware boots the same
// EFI disk in tests/integration/test_qemu_efi_boot.py).
class KrunkitDriver : public HypervisorDriver {
 public:
  explicit KrunkitDriver(MacDriverOptions options) : options_(std::move(options)) {}
  std::string Name() const override { return "krunkit"; }

 protected:
  absl::StatusOr<Launch> Plan(const VmSpec& spec) const override;

 private:
  MacDriverOptions options_;
};

// What both share: the VM's files, its vsock ports and shares.
MacVm MacVmFor(const MacDriverOptions& options, const VmSpec& spec);
// A locally administered MAC address, the same for a state dir on every boot.
std::string StableMac(const std::string& state_dir);

}  // namespace switchyard::vmm
