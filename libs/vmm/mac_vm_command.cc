#include "libs/vmm/mac_vm_command.h"

#include "absl/strings/str_cat.h"

namespace switchyard::vmm {
namespace {

// A value inside a device option list: vfkit and krunkit split on every
// ',' (and krunkit on '='), with no escape.
absl::Status CheckValue(const std::string& what, const std::string& value, bool no_equals) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (value.find(',') != std::string::npos || (no_equals && value.find('=') != std::string::npos)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " \"", value, "\" holds a ',' or '=', which the hypervisor's ",
                                                   "option parser cannot take"));
  }
  return absl::OkStatus();
}

struct Builder {
  bool no_equals;
  std::vector<std::string> args;
  absl::Status status;

  void Value(const std::string& what, const std::string& value) {
    if (status.ok()) status = CheckValue(what, value, no_equals);
  }
  void Device(const std::string& spec) {
    args.push_back("--device");
    args.push_back(spec);
  }
  void Common(const MacVm& vm) {
    args.insert(args.end(), {vm.binary, "--cpus", absl::StrCat(vm.cpus), "--memory", absl::StrCat(vm.memory_mib)});
  }
  void Devices(const MacVm& vm) {
    Value("data disk", vm.data_disk);
    Device(absl::StrCat("virtio-blk,path=", vm.data_disk));
    Value("console log", vm.console_log);
    Device(absl::StrCat("virtio-serial,logFilePath=", vm.console_log));
    for (const auto& [port, socket] : vm.vsock_ports) {
      Value("vsock socket", socket);
      Device(absl::StrCat("virtio-vsock,port=", port, ",socketURL=", socket, ",connect"));
    }
    for (const auto& [tag, dir] : vm.shares) {
      Value("shared directory", dir);
      Device(absl::StrCat("virtio-fs,sharedDir=", dir, ",mountTag=", tag));
    }
  }
};

}  // namespace

absl::StatusOr<std::vector<std::string>> VfkitArgs(const MacVm& vm) {
  Builder b{false};
  b.Common(vm);
  for (const auto& [what, value] : {std::pair<std::string, std::string>{"kernel", vm.kernel}, {"initrd", vm.initrd}}) {
    b.Value(what, value);
  }
  if (vm.cmdline.find('"') != std::string::npos) {
    return absl::InvalidArgumentError("the kernel command line holds a '\"'");
  }
  // The command line is quoted: vfkit's --bootloader parser keeps commas
  // and spaces inside double quotes.
  b.args.push_back("--bootloader");
  b.args.push_back(absl::StrCat("linux,kernel=", vm.kernel, ",initrd=", vm.initrd, ",cmdline=\"", vm.cmdline, "\""));
  b.Devices(vm);
  b.Device(vm.mac.empty() ? "virtio-net,nat" : absl::StrCat("virtio-net,nat,mac=", vm.mac));
  b.Device("virtio-rng");
  if (!vm.rosetta_tag.empty()) b.Device(absl::StrCat("rosetta,mountTag=", vm.rosetta_tag));
  if (!vm.rest_socket.empty()) b.args.insert(b.args.end(), {"--restful-uri", absl::StrCat("unix://", vm.rest_socket)});
  if (!vm.pidfile.empty()) b.args.insert(b.args.end(), {"--pidfile", vm.pidfile});
  b.args.insert(b.args.end(), {"--log-level", "info"});
  if (!b.status.ok()) return b.status;
  return b.args;
}

absl::StatusOr<std::vector<std::string>> KrunkitArgs(const MacVm& vm) {
  if (vm.efi_disk.empty()) return absl::InvalidArgumentError("krunkit boots only an EFI disk: none given");
  if (vm.network_socket.empty()) {
    return absl::InvalidArgumentError("krunkit has no NAT: it needs a gvproxy or passt network socket");
  }
  if (vm.mac.empty()) return absl::InvalidArgumentError("krunkit's virtio-net needs a MAC address");
  if (!vm.rosetta_tag.empty()) return absl::InvalidArgumentError("krunkit has no Rosetta device: that is vfkit's");
  Builder b{true};
  b.Common(vm);
  b.Value("EFI disk", vm.efi_disk);
  b.Device(absl::StrCat("virtio-blk,path=", vm.efi_disk));  // first: the one the firmware boots
  b.Devices(vm);
  if (!vm.settings_disk.empty()) {
    b.Value("settings disk", vm.settings_disk);
    b.Device(absl::StrCat("virtio-blk,path=", vm.settings_disk));
  }
  b.Value("network socket", vm.network_socket);
  b.Device(absl::StrCat("virtio-net,type=unixgram,path=", vm.network_socket, ",mac=", vm.mac,
                        ",offloading=on,vfkitMagic=on"));
  if (!vm.rest_socket.empty()) b.args.insert(b.args.end(), {"--restful-uri", absl::StrCat("unix://", vm.rest_socket)});
  if (!vm.pidfile.empty()) b.args.insert(b.args.end(), {"--pidfile", vm.pidfile});
  if (!b.status.ok()) return b.status;
  return b.args;
}

}  // namespace switchyard::vmm
