#include "libs/vmm/qemu_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace switchyard::vmm {

std::string QemuOptionValue(const std::string& value) { return absl::StrReplaceAll(value, {{",", ",,"}}); }

std::string GuestKernelFile(const std::string& guest_arch) { return guest_arch == "x86_64" ? "vmlinux" : "Image"; }

std::string ShareTag(size_t n) { return absl::StrCat("sy", n); }

uint32_t VsockCid(const std::string& state_dir) {
  // FNV-1a: stable across builds and runs, unlike std::hash.
  uint32_t h = 2166136261u;
  for (unsigned char c : state_dir) h = (h ^ c) * 16777619u;
  return 3 + h % (0xFFFFFFFEu - 3);  // 0xFFFFFFFF is VMADDR_CID_ANY
}

std::vector<std::string> QemuArgs(const QemuVm& vm) {
  const bool x86 = vm.guest_arch == "x86_64";
  std::vector<std::string> args = {
      vm.qemu_bin,
      "-name", vm.name,
      // q35 boots the PVH vmlinux in ~2 s under TCG and never hung in 15
      // boots here; microvm hung in 1 of 11 at TSC calibration.
      "-machine", x86 ? "q35" : "virt",
      // TCG's translation cache is 1 GiB by default: a quarter is plenty
      // for a guest that runs dockerd, and the rest stays the host's.
      "-accel", vm.accel == "tcg" ? "tcg,tb-size=256" : vm.accel,
      // tcg: every feature QEMU emulates; kvm/hvf: the host's own CPU.
      "-cpu", vm.accel == "tcg" ? "max" : "host",
      "-smp", absl::StrCat(vm.cpus),
      "-m", absl::StrCat(vm.memory_mib),
      "-nodefaults", "-no-user-config", "-display", "none",
      // The guest powers off when its agent ends; a reboot is a crash.
      "-no-reboot",
      "-kernel", vm.kernel,
      "-initrd", vm.initrd,
      "-append", vm.cmdline,
      "-serial", absl::StrCat("file:", vm.console_log),
      "-pidfile", vm.pidfile,
      "-drive", absl::StrCat("file=", QemuOptionValue(vm.data_disk), ",format=raw,if=virtio,cache=writeback"),
      "-netdev", "user,id=net0",
      "-device", "virtio-net-pci,netdev=net0",
      "-device", "virtio-rng-pci",
      // Pages the guest frees go back to the host (its initramfs is copied
      // twice at boot, then freed).
      "-device", "virtio-balloon-pci,free-page-reporting=on",
  };
  if (vm.vsock_cid != 0) {
    args.insert(args.end(), {"-device", absl::StrCat("vhost-vsock-pci,guest-cid=", vm.vsock_cid)});
  } else {
    args.insert(args.end(),
                {"-device", "virtio-serial-pci,id=agentbus", "-chardev",
                 absl::StrCat("socket,id=agent,path=", QemuOptionValue(vm.serial_socket), ",server=on,wait=off"),
                 "-device", absl::StrCat("virtserialport,bus=agentbus.0,chardev=agent,name=", vm.serial_port_name)});
  }
  for (size_t i = 0; i < vm.shares.size(); ++i) {
    const auto& [tag, path] = vm.shares[i];
    const std::string id = absl::StrCat("fs", i);
    args.push_back("-fsdev");
    args.push_back(absl::StrCat("local,id=", id, ",path=", QemuOptionValue(path), ",security_model=none"));
    args.push_back("-device");
    args.push_back(absl::StrCat("virtio-9p-pci,fsdev=", id, ",mount_tag=", tag));
  }
  return args;
}

absl::StatusOr<std::string> GuestKernelCmdline(const std::string& console, const std::string& hostname,
                                               const std::vector<std::string>& agent_args,
                                               const std::vector<std::pair<std::string, std::string>>& shares,
                                               const std::vector<std::string>& translators) {
  std::vector<std::string> values = {hostname};
  values.insert(values.end(), agent_args.begin(), agent_args.end());
  for (const auto& [tag, path] : shares) values.push_back(path);
  values.insert(values.end(), translators.begin(), translators.end());
  for (const std::string& value : values) {
    if (value.find_first_of(" \t\n|,\"") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("cannot pass \"", value, "\" on a kernel command line"));
    }
  }
  std::vector<std::string> parts = {absl::StrCat("console=", console), "panic=-1", "loglevel=4",
                                    absl::StrCat("sy_hostname=", hostname),
                                    absl::StrCat("sy_agent_args=", absl::StrJoin(agent_args, "|"))};
  if (!shares.empty()) {
    parts.push_back(absl::StrCat("sy_shares=", absl::StrJoin(shares, ",", [](std::string* out, const auto& share) {
                                   absl::StrAppend(out, share.first, ":", share.second);
                                 })));
  }
  if (!translators.empty()) parts.push_back(absl::StrCat("sy_translators=", absl::StrJoin(translators, ",")));
  std::string line = absl::StrJoin(parts, " ");
  if (line.size() > 2047) {  // COMMAND_LINE_SIZE on x86 and arm64
    return absl::InvalidArgumentError(absl::StrCat("kernel command line too long (", line.size(), " bytes)"));
  }
  return line;
}

}  // namespace switchyard::vmm
