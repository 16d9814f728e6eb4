#include "libs/vmm/mac_drivers.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/stream_mux/agent_ports.h"
#include "libs/vmm/guest_settings.h"
#include "libs/vmm/qemu_command.h"
#include "libs/vmm/qemu_driver.h"

namespace switchyard::vmm {
namespace fs = std::filesystem;

std::string StableMac(const std::string& state_dir) {
  const uint32_t h = VsockCid(state_dir);
  // 0x5a: locally administered, unicast.
  return absl::StrFormat("5a:94:ef:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
}

MacVm MacVmFor(const MacDriverOptions& options, const VmSpec& spec) {
  MacVm vm;
  vm.binary = options.binary;
  vm.cpus = options.cpus;
  vm.memory_mib = options.memory_mib;
  vm.data_disk = (fs::path(spec.state_dir) / "data.img").string();
  vm.console_log = (fs::path(spec.state_dir) / "console.log").string();
  const fs::path dir(spec.state_dir);
  for (const auto& port : stream_mux::AgentPortSockets((dir / "agent.sock").string(), (dir / "tunnel.sock").string(),
                                                       (dir / "manager.sock").string())) {
    vm.vsock_ports.push_back(port);
  }
  for (size_t i = 0; i < options.shares.size(); ++i) vm.shares.emplace_back(ShareTag(i), options.shares[i]);
  vm.mac = StableMac(spec.state_dir);
  vm.rest_socket = (fs::path(spec.state_dir) / "rest.sock").string();
  vm.pidfile = (fs::path(spec.state_dir) / "vm.pid").string();
  return vm;
}

namespace {

// One boot of a Mac hypervisor whose command line `args` built from `vm`;
// the agent is reached through the hypervisor's own vsock sockets.
absl::StatusOr<HypervisorDriver::Launch> MacLaunch(absl::StatusOr<std::vector<std::string>> args, const MacVm& vm,
                                                   int disk_gib, const std::string& accelerator,
                                                   const std::string& name) {
  if (!args.ok()) return args.status();
  HypervisorDriver::Launch launch;
  launch.args = *std::move(args);
  launch.data_disk = vm.data_disk;
  launch.disk_gib = disk_gib;
  launch.accelerator = accelerator;
  launch.transport = absl::StrCat("vsock (", name, "'s sockets)");
  return launch;
}

}  // namespace

absl::StatusOr<HypervisorDriver::Launch> VfkitDriver::Plan(const VmSpec& spec) const {
  MacVm vm = MacVmFor(options_, spec);
  vm.kernel = (fs::path(options_.image_dir) / GuestKernelFile("aarch64")).string();
  vm.initrd = (fs::path(options_.image_dir) / "initrd.img").string();
  const bool rosetta =
      std::find(options_.translators.begin(), options_.translators.end(), "rosetta") != options_.translators.end();
  if (rosetta) vm.rosetta_tag = "rosetta";
  absl::StatusOr<std::string> cmdline = GuestKernelCmdline(
      "hvc0", {spec.hostname.empty() ? spec.backend : spec.hostname, GuestAgentArgs(spec, true), vm.shares,
               options_.translators, ""});
  if (!cmdline.ok()) return cmdline.status();
  vm.cmdline = *cmdline;
  return MacLaunch(VfkitArgs(vm), vm, options_.disk_gib, "Virtualization.framework", Name());
}

absl::StatusOr<HypervisorDriver::Launch> KrunkitDriver::Plan(const VmSpec& spec) const {
  MacVm vm = MacVmFor(options_, spec);
  // The image's EFI disk is every VM's; krunkit has no read-only disks, so
  // each VM boots its own copy, and finds its settings on a disk of its own.
  const std::string image_efi_disk = (fs::path(options_.image_dir) / "efi.img").string();
  vm.efi_disk = options_.efi_disk.empty() ? (fs::path(spec.state_dir) / "efi.img").string() : options_.efi_disk;
  vm.settings_disk = (fs::path(spec.state_dir) / "settings.img").string();
  vm.network_socket = options_.network_socket;
  vm.rest_socket.clear();  // krunkit's REST service only stops the VM; we stop it through the lease
  // vda the EFI disk, vdb the data disk, vdc the settings (KrunkitArgs' order).
  absl::StatusOr<std::string> settings = GuestSettingsDisk(
      {spec.hostname.empty() ? spec.backend : spec.hostname, GuestAgentArgs(spec, true), vm.shares,
       options_.translators, "/dev/vdb"});
  if (!settings.ok()) return settings.status();
  absl::StatusOr<Launch> launch =
      MacLaunch(KrunkitArgs(vm), vm, options_.disk_gib, "Hypervisor.framework (libkrun)", Name());
  if (!launch.ok()) return launch.status();
  launch->files.emplace_back(vm.settings_disk, *std::move(settings));
  if (options_.efi_disk.empty()) launch->copies.emplace_back(image_efi_disk, vm.efi_disk);
  return launch;
}

}  // namespace switchyard::vmm
