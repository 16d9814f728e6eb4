#include "libs/vmm/qemu_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace switchyard::vmm {

std::string QemuOptionValue(const std::string& value) { return absl::StrReplaceAll(value, {{",", ",,"}}); }

std::string GuestKernelFile(const std::string& guest_arch) { return guest_arch == "x86_64" ? "vmlinux" : "Image"; }

std::string DefaultFirmware(const std::string& guest_arch) {
  return guest_arch == "x86_64" ? "/usr/share/ovmf/OVMF.fd" : "/usr/share/AAVMF/AAVMF_CODE.fd";
}

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
      // tcg: every feature QEMU emulates (on arm64, pointer authentication
      // by QEMU's own cheap algorithm: the architected one is slow to
      // emulate); kvm/hvf: the host's own CPU.
      "-cpu", vm.accel != "tcg" ? "host" : x86 ? "max" : "max,pauth-impdef=on",
      "-smp", absl::StrCat(vm.cpus),
      "-m", absl::StrCat(vm.memory_mib),
      "-nodefaults", "-no-user-config", "-display", "none",
      // The guest powers off when its agent ends; a reboot is a crash.
      "-no-reboot",
      "-serial", absl::StrCat("file:", vm.console_log),
      "-pidfile", vm.pidfile,
      "-netdev", "user,id=net0",
      "-device", "virtio-net-pci,netdev=net0",
      "-device", "virtio-rng-pci",
      // Pages the guest frees go back to the host (its initramfs is copied
      // twice at boot, then freed).
      "-device", "virtio-balloon-pci,free-page-reporting=on",
  };
  auto drive = [&](const std::string& file, const char* options) {
    args.insert(args.end(), {"-drive", absl::StrCat("file=", QemuOptionValue(file), ",format=raw,if=virtio,", options)});
  };
  if (vm.firmware.empty()) {
    args.insert(args.end(), {"-kernel", vm.kernel, "-initrd", vm.initrd, "-append", vm.cmdline});
    drive(vm.data_disk, "cache=writeback");
  } else {
    // The guest sees them in this order: vda (the EFI disk, shared by
    // every VM, so read-only), vdb (its data), vdc (its settings).
    args.insert(args.end(), {"-bios", vm.firmware});
    drive(vm.efi_disk, "readonly=on");
    drive(vm.data_disk, "cache=writeback");
    drive(vm.settings_disk, "readonly=on");
  }
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

}  // namespace switchyard::vmm
