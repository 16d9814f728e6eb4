#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace switchyard::vmm {

// One VM as the macOS hypervisor front ends boot it: vfkit
// (Virtualization.framework; the translating VM, with Rosetta) and krunkit
// (libkrun on Hypervisor.framework; the fast VM). Built from their
// documented flags: vfkit v0.6.4 doc/usage.md, krunkit v1.2.1
// docs/usage.md. Neither runs on Linux: only these command lines are
// tested here (README, "Real VMs").
struct MacVm {
  std::string binary;  // vfkit / krunkit
  int cpus = 2;
  int memory_mib = 2048;
  // vfkit boots the guest image's kernel directly (uncompressed on arm64).
  std::string kernel;
  std::string initrd;
  std::string cmdline;
  // krunkit boots only an EFI disk (its firmware finds the kernel there);
  // it is the first disk, so the data disk is the guest's /dev/vdb; the
  // settings disk (GuestSettingsDisk) comes last, /dev/vdc.
  std::string efi_disk;
  std::string settings_disk;
  std::string data_disk;
  std::string console_log;
  // Guest vsock ports the VM manager connects to, each offered as a host
  // Unix socket the hypervisor creates ("connect": host to guest).
  std::vector<std::pair<uint32_t, std::string>> vsock_ports;
  std::vector<std::pair<std::string, std::string>> shares;  // mount tag, host directory (virtio-fs)
  // vfkit: the Rosetta share (virtio-fs), mounted and registered by vm-init.sh.
  std::string rosetta_tag;
  // krunkit has no NAT: a gvproxy or passt unixgram socket; vfkit uses NAT.
  std::string network_socket;
  std::string mac;  // required by krunkit's virtio-net
  std::string rest_socket;
  std::string pidfile;
};

// vfkit's command line; InvalidArgument for a value vfkit cannot take
// (it splits device options on every ',', with no escape).
absl::StatusOr<std::vector<std::string>> VfkitArgs(const MacVm& vm);
// krunkit's command line; InvalidArgument likewise (krunkit also refuses
// '=' inside a value), or when the EFI disk or network socket is missing.
absl::StatusOr<std::vector<std::string>> KrunkitArgs(const MacVm& vm);

}  // namespace switchyard::vmm
