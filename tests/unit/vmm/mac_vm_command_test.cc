#include "libs/vmm/mac_vm_command.h"

#include <catch2/catch.hpp>

namespace switchyard::vmm {
namespace {

MacVm VzGuest() {
  MacVm vm;
  vm.binary = "/opt/homebrew/bin/vfkit";
  vm.cpus = 4;
  vm.memory_mib = 4096;
  vm.kernel = "/Users/me/.switchyard/guest/Image";
  vm.initrd = "/Users/me/.switchyard/guest/initrd.img";
  vm.cmdline = "console=hvc0 panic=-1 sy_agent_args=--backend=vz|--vsock";
  vm.data_disk = "/Users/me/.switchyard/vms/vz/data.img";
  vm.console_log = "/Users/me/.switchyard/vms/vz/console.log";
  vm.vsock_ports = {{1024, "/Users/me/.switchyard/vms/vz/agent.sock"}, {1025, "/Users/me/.switchyard/vms/vz/tunnel.sock"}};
  vm.shares = {{"sy0", "/Users"}};
  vm.rosetta_tag = "rosetta";
  vm.rest_socket = "/Users/me/.switchyard/vms/vz/rest.sock";
  vm.pidfile = "/Users/me/.switchyard/vms/vz/vm.pid";
  return vm;
}

TEST_CASE("vfkit's command line boots the guest kernel with vsock, shares and Rosetta", "[vmm][mac]") {
  absl::StatusOr<std::vector<std::string>> args = VfkitArgs(VzGuest());
  REQUIRE(args.ok());
  const std::vector<std::string> want = {
      "/opt/homebrew/bin/vfkit", "--cpus", "4", "--memory", "4096",
      "--bootloader",
      "linux,kernel=/Users/me/.switchyard/guest/Image,initrd=/Users/me/.switchyard/guest/initrd.img,"
      "cmdline=\"console=hvc0 panic=-1 sy_agent_args=--backend=vz|--vsock\"",
      "--device", "virtio-blk,path=/Users/me/.switchyard/vms/vz/data.img",
      "--device", "virtio-serial,logFilePath=/Users/me/.switchyard/vms/vz/console.log",
      // connect: vfkit makes the socket, and each connection reaches the guest's listener.
      "--device", "virtio-vsock,port=1024,socketURL=/Users/me/.switchyard/vms/vz/agent.sock,connect",
      "--device", "virtio-vsock,port=1025,socketURL=/Users/me/.switchyard/vms/vz/tunnel.sock,connect",
      "--device", "virtio-fs,sharedDir=/Users,mountTag=sy0",
      "--device", "virtio-net,nat",
      "--device", "virtio-rng",
      "--device", "rosetta,mountTag=rosetta",
      "--restful-uri", "unix:///Users/me/.switchyard/vms/vz/rest.sock",
      "--pidfile", "/Users/me/.switchyard/vms/vz/vm.pid",
      "--log-level", "info"};
  CHECK(*args == want);
}

TEST_CASE("values vfkit cannot parse are refused, naming them", "[vmm][mac]") {
  MacVm vm = VzGuest();
  vm.shares = {{"sy0", "/Users/me/a,b"}};
  CHECK(VfkitArgs(vm).status().message() ==
        "shared directory \"/Users/me/a,b\" holds a ',' or '=', which the hypervisor's option parser cannot take");
  vm = VzGuest();
  vm.cmdline = "quote=\"x\"";
  CHECK(absl::IsInvalidArgument(VfkitArgs(vm).status()));
  vm = VzGuest();
  vm.shares = {{"sy0", "/Users/me/a=b"}};  // vfkit splits on the first '=' only
  CHECK(VfkitArgs(vm).ok());
}

TEST_CASE("krunkit's command line boots its EFI disk first, on a gvproxy network", "[vmm][mac]") {
  MacVm vm = VzGuest();
  vm.binary = "/opt/homebrew/bin/krunkit";
  vm.rosetta_tag.clear();
  vm.kernel.clear();
  vm.initrd.clear();
  vm.efi_disk = "/Users/me/.switchyard/guest/efi.img";
  vm.settings_disk = "/Users/me/.switchyard/vms/vz/settings.img";
  vm.network_socket = "/Users/me/.switchyard/vms/hv/gvproxy.sock";
  vm.mac = "5a:94:ef:e4:0c:ee";
  vm.vsock_ports = {{1024, "/Users/me/.switchyard/vms/hv/agent.sock"}};
  vm.shares.clear();
  vm.rest_socket.clear();
  vm.pidfile.clear();
  absl::StatusOr<std::vector<std::string>> args = KrunkitArgs(vm);
  REQUIRE(args.ok());
  const std::vector<std::string> want = {
      "/opt/homebrew/bin/krunkit", "--cpus", "4", "--memory", "4096",
      "--device", "virtio-blk,path=/Users/me/.switchyard/guest/efi.img",
      "--device", "virtio-blk,path=/Users/me/.switchyard/vms/vz/data.img",
      "--device", "virtio-serial,logFilePath=/Users/me/.switchyard/vms/vz/console.log",
      "--device", "virtio-vsock,port=1024,socketURL=/Users/me/.switchyard/vms/hv/agent.sock,connect",
      "--device", "virtio-blk,path=/Users/me/.switchyard/vms/vz/settings.img",  // the guest's /dev/vdc
      "--device",
      "virtio-net,type=unixgram,path=/Users/me/.switchyard/vms/hv/gvproxy.sock,mac=5a:94:ef:e4:0c:ee,"
      "offloading=on,vfkitMagic=on"};
  CHECK(*args == want);

  // What krunkit cannot do is said, not guessed around.
  MacVm no_net = vm;
  no_net.network_socket.clear();
  CHECK(KrunkitArgs(no_net).status().message() == "krunkit has no NAT: it needs a gvproxy or passt network socket");
  MacVm no_efi = vm;
  no_efi.efi_disk.clear();
  CHECK(KrunkitArgs(no_efi).status().message() == "krunkit boots only an EFI disk: none given");
  MacVm rosetta = vm;
  rosetta.rosetta_tag = "rosetta";
  CHECK(absl::IsInvalidArgument(KrunkitArgs(rosetta).status()));
  MacVm equals = vm;
  equals.shares = {{"sy0", "/Users/me/a=b"}};  // krunkit refuses '=' in a value
  CHECK(absl::IsInvalidArgument(KrunkitArgs(equals).status()));
}

}  // namespace
}  // namespace switchyard::vmm
