#include "libs/vmm/guest_settings.h"
#include "libs/vmm/qemu_command.h"

#include <catch2/catch.hpp>

#include "libs/vmm/accelerator.h"
#include "libs/vmm/qemu_driver.h"

namespace switchyard::vmm {
namespace {

// The value that follows `flag` the n-th time it appears.
std::string After(const std::vector<std::string>& args, const std::string& flag, int nth = 0) {
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag && nth-- == 0) return args[i + 1];
  }
  return "<absent>";
}

QemuVm SampleVm() {
  QemuVm vm;
  vm.qemu_bin = "/usr/bin/qemu-system-x86_64";
  vm.guest_arch = "x86_64";
  vm.name = "switchyard-vz";
  vm.accel = "tcg";
  vm.cpus = 2;
  vm.memory_mib = 3072;
  vm.kernel = "/img/vmlinux";
  vm.initrd = "/img/initrd.img";
  vm.cmdline = "console=ttyS0";
  vm.data_disk = "/var/lib/sy/vms/vz/data.img";
  vm.serial_socket = "/var/lib/sy/vms/vz/vport.sock";
  vm.serial_port_name = "switchyard.agent";
  vm.console_log = "/var/lib/sy/vms/vz/console.log";
  vm.pidfile = "/var/lib/sy/vms/vz/qemu.pid";
  vm.shares = {{"sy0", "/home"}, {"sy1", "/tmp/with,comma"}};
  return vm;
}

TEST_CASE("qemu's command line boots the guest image with the agent's port and the shares", "[vmm][qemu]") {
  std::vector<std::string> args = QemuArgs(SampleVm());
  CHECK(args[0] == "/usr/bin/qemu-system-x86_64");
  CHECK(After(args, "-machine") == "q35");
  CHECK(After(args, "-accel") == "tcg,tb-size=256");  // not TCG's 1 GiB default cache
  CHECK(After(args, "-cpu") == "max");  // software emulation offers every feature it has
  CHECK(After(args, "-m") == "3072");
  CHECK(After(args, "-smp") == "2");
  CHECK(After(args, "-kernel") == "/img/vmlinux");
  CHECK(After(args, "-initrd") == "/img/initrd.img");
  CHECK(After(args, "-append") == "console=ttyS0");
  CHECK(std::find(args.begin(), args.end(), "-no-reboot") != args.end());
  CHECK(After(args, "-drive") == "file=/var/lib/sy/vms/vz/data.img,format=raw,if=virtio,cache=writeback");
  // QEMU listens on the agent port's socket; the VM manager connects.
  CHECK(After(args, "-chardev") == "socket,id=agent,path=/var/lib/sy/vms/vz/vport.sock,server=on,wait=off");
  CHECK(After(args, "-device", 2) == "virtio-balloon-pci,free-page-reporting=on");
  CHECK(After(args, "-device", 4) == "virtserialport,bus=agentbus.0,chardev=agent,name=switchyard.agent");
  CHECK(After(args, "-serial") == "file:/var/lib/sy/vms/vz/console.log");
  CHECK(After(args, "-fsdev", 0) == "local,id=fs0,path=/home,security_model=none");
  CHECK(After(args, "-device", 5) == "virtio-9p-pci,fsdev=fs0,mount_tag=sy0");
  // A comma inside a value is doubled, or QEMU would read a new option.
  CHECK(After(args, "-fsdev", 1) == "local,id=fs1,path=/tmp/with,,comma,security_model=none");
  // No TCP port on the host: user networking without host forwards.
  CHECK(After(args, "-netdev") == "user,id=net0");

  QemuVm kvm = SampleVm();
  kvm.accel = "kvm";
  CHECK(After(QemuArgs(kvm), "-cpu") == "host");
  CHECK(After(QemuArgs(kvm), "-accel") == "kvm");
  QemuVm arm = SampleVm();
  arm.guest_arch = "aarch64";
  arm.accel = "hvf";
  CHECK(After(QemuArgs(arm), "-machine") == "virt");
  CHECK(After(QemuArgs(arm), "-cpu") == "host");
  // An arm64 guest emulated (a Mac's, tried on x86-64): QEMU's own cheap
  // pointer authentication, not the architected one.
  arm.accel = "tcg";
  CHECK(After(QemuArgs(arm), "-cpu") == "max,pauth-impdef=on");
}

TEST_CASE("qemu boots the EFI disk with UEFI firmware, as krunkit does", "[vmm][qemu]") {
  QemuVm vm = SampleVm();
  vm.firmware = "/usr/share/ovmf/OVMF.fd";
  vm.efi_disk = "/img/efi.img";
  vm.settings_disk = "/var/lib/sy/vms/vz/settings.img";
  std::vector<std::string> args = QemuArgs(vm);
  CHECK(After(args, "-bios") == "/usr/share/ovmf/OVMF.fd");
  CHECK(std::find(args.begin(), args.end(), "-kernel") == args.end());
  CHECK(std::find(args.begin(), args.end(), "-append") == args.end());
  // vda the shared EFI disk, read-only; vdb the VM's data; vdc its settings.
  CHECK(After(args, "-drive", 0) == "file=/img/efi.img,format=raw,if=virtio,readonly=on");
  CHECK(After(args, "-drive", 1) == "file=/var/lib/sy/vms/vz/data.img,format=raw,if=virtio,cache=writeback");
  CHECK(After(args, "-drive", 2) == "file=/var/lib/sy/vms/vz/settings.img,format=raw,if=virtio,readonly=on");
  CHECK(DefaultFirmware("x86_64") == "/usr/share/ovmf/OVMF.fd");
  CHECK(DefaultFirmware("aarch64") == "/usr/share/AAVMF/AAVMF_CODE.fd");
}

TEST_CASE("the guest kernel command line carries vm-init's settings, or says why it cannot", "[vmm][qemu]") {
  absl::StatusOr<std::string> line = GuestKernelCmdline(
      "ttyS0", {"switchyard-vz", {"--backend=vz", "--state_dir=/var/lib/switchyard"}, {{"sy0", "/home"}, {"sy1", "/tmp"}},
                {"qemu-aarch64"}, ""});
  REQUIRE(line.ok());
  CHECK(*line ==
        "console=ttyS0 panic=-1 loglevel=4 sy_hostname=switchyard-vz "
        "sy_agent_args=--backend=vz|--state_dir=/var/lib/switchyard sy_shares=sy0:/home,sy1:/tmp "
        "sy_translators=qemu-aarch64");

  CHECK(GuestKernelCmdline("ttyS0", {"h", {"--x=a b"}, {}, {}, ""}).status().message() ==
        "cannot pass \"--x=a b\" on a kernel command line");
  CHECK(absl::IsInvalidArgument(GuestKernelCmdline("ttyS0", {"h", {}, {{"sy0", "/a|b"}}, {}, ""}).status()));
  std::vector<std::string> many(200, "--flag=0123456789");
  CHECK(GuestKernelCmdline("ttyS0", {"h", many, {}, {}, ""}).status().message().rfind("kernel command line too long", 0) ==
        0);
}

TEST_CASE("a VM booted from the shared EFI disk finds its settings on a disk of its own", "[vmm][qemu]") {
  absl::StatusOr<std::string> disk =
      GuestSettingsDisk({"switchyard-hv", {"--backend=hv"}, {{"sy0", "/home"}}, {}, "/dev/vdb"});
  REQUIRE(disk.ok());
  CHECK(disk->size() == 4096);
  const std::string text = disk->substr(0, disk->find('\0'));
  CHECK(text ==
        "#switchyard-settings\nsy_hostname=switchyard-hv\nsy_agent_args=--backend=hv\nsy_shares=sy0:/home\n"
        "sy_data_disk=/dev/vdb\n");
  CHECK(disk->find_first_not_of('\0', text.size()) == std::string::npos);
  CHECK(absl::IsInvalidArgument(GuestSettingsDisk({"h", {"--x=a b"}, {}, {}, ""}).status()));
  std::vector<std::string> many(300, "--flag=0123456789");
  CHECK(GuestSettingsDisk({"h", many, {}, {}, ""}).status().message().rfind("guest settings too long", 0) == 0);
}

TEST_CASE("the guest agent runs on the data disk and serves over its serial port", "[vmm][qemu]") {
  VmSpec spec;
  spec.backend = "vz";
  spec.state_dir = "/var/lib/sy/vms/vz";
  spec.agent_bin = "/host/build/bin/switchyard-agent";
  spec.bip = "10.220.0.1/24";
  spec.manager_grace = absl::Seconds(30);
  std::vector<std::string> args = GuestAgentArgs(spec, /*vsock=*/false);
  CHECK(args.front() == "--backend=vz");  // vm-init.sh names the binary
  auto has = [&](const std::string& arg) { return std::find(args.begin(), args.end(), arg) != args.end(); };
  CHECK(has("--state_dir=/var/lib/switchyard"));
  CHECK(has("--socket=/var/lib/switchyard/agent.sock"));
  CHECK(has("--dockerd=/usr/sbin/dockerd"));
  CHECK(has("--bip=10.220.0.1/24"));
  CHECK(has("--serial_port=switchyard.agent"));
  CHECK(has("--handoff_socket=none"));
  CHECK(has("--manager_grace=30s"));
  std::vector<std::string> over_vsock = GuestAgentArgs(spec, /*vsock=*/true);
  CHECK(std::find(over_vsock.begin(), over_vsock.end(), "--vsock") != over_vsock.end());
  CHECK(std::find(over_vsock.begin(), over_vsock.end(), "--serial_port=switchyard.agent") == over_vsock.end());
}

TEST_CASE("with vhost-vsock the agent's port is a vsock device with a stable context id", "[vmm][qemu]") {
  QemuVm vm = SampleVm();
  vm.vsock_cid = VsockCid("/var/lib/sy/vms/vz");
  std::vector<std::string> args = QemuArgs(vm);
  CHECK(std::count(args.begin(), args.end(), absl::StrCat("vhost-vsock-pci,guest-cid=", vm.vsock_cid)) == 1);
  CHECK(After(args, "-chardev") == "<absent>");  // no serial port then
  // Stable for a state dir (an adopted VM keeps it), apart across VMs, never reserved.
  CHECK(VsockCid("/var/lib/sy/vms/vz") == VsockCid("/var/lib/sy/vms/vz"));
  CHECK(VsockCid("/var/lib/sy/vms/vz") != VsockCid("/var/lib/sy/vms/hv"));
  for (const char* dir : {"", "/a", "/var/lib/switchyard/vms/hv", "/tmp/sy-x/state/vms/vz"}) {
    const uint32_t cid = VsockCid(dir);
    CHECK(cid >= 3);
    CHECK(cid != 0xFFFFFFFFu);
  }
}

TEST_CASE("the accelerator is the one that works here, or the one the config names", "[vmm][qemu]") {
  HostFacts pvm{"linux", true, 12, false};  // this machine's kind: /dev/kvm backed by nested PVM
  absl::StatusOr<AcceleratorChoice> choice = ChooseAccelerator(pvm, "");
  REQUIRE(choice.ok());
  CHECK(choice->accel == "tcg");
  CHECK(choice->reason.find("without vmx/svm") != std::string::npos);

  HostFacts kvm{"linux", true, 12, true};
  CHECK(ChooseAccelerator(kvm, "")->accel == "kvm");
  CHECK(ChooseAccelerator(HostFacts{"linux", false, 0, true}, "")->accel == "tcg");
  CHECK(ChooseAccelerator(HostFacts{"linux", true, 11, true}, "")->accel == "tcg");
  CHECK(ChooseAccelerator(HostFacts{"darwin", false, 0, false}, "")->accel == "hvf");
  // Forced: taken as given, said so.
  CHECK(ChooseAccelerator(pvm, "kvm")->accel == "kvm");
  CHECK(ChooseAccelerator(pvm, "kvm")->reason == "set in the config");
  CHECK(ChooseAccelerator(pvm, "xen").status().message() ==
        "unknown accelerator \"xen\": want kvm, hvf or tcg (or leave it out to choose)");
}

TEST_CASE("a guest of another CPU arch has only software emulation", "[vmm][qemu]") {
  HostFacts kvm{"linux", true, 12, true};
  absl::StatusOr<AcceleratorChoice> choice = ChooseAccelerator(kvm, "", "aarch64");
  REQUIRE(choice.ok());
  CHECK(choice->accel == "tcg");
  CHECK(choice->reason == "an aarch64 guest on another CPU arch: software emulation");
  CHECK(ChooseAccelerator(kvm, "tcg", "aarch64")->accel == "tcg");
  CHECK(ChooseAccelerator(kvm, "kvm", "aarch64").status().message() ==
        "accelerator \"kvm\" cannot run an aarch64 guest on this host's CPU: only tcg emulates another arch");
}

TEST_CASE("the guest's arch is named as Docker names it, and defaults to the host's", "[vmm][qemu]") {
  CHECK(*GuestMachine("amd64") == "x86_64");
  CHECK(*GuestMachine("arm64") == "aarch64");
  CHECK(*GuestMachine("") == HostMachine());
  CHECK(GuestMachine("x86_64").status().message() ==
        "guest arch \"x86_64\": accepted \"amd64\", \"arm64\", \"\" (this machine's)");
  CHECK(DefaultGuestImage("aarch64") == "/var/cache/switchyard/guest/current-arm64");
  CHECK(DefaultGuestImage("x86_64") == "/var/cache/switchyard/guest/current-amd64");
}

TEST_CASE("a sleeping guest of another arch is expected to run what its image registers", "[vmm][qemu]") {
  const std::string manifest = R"({"arch": "arm64", "translators": ["qemu-x86_64", "qemu-arm"]})";
  VmDriver::Expected e = ExpectedFromImage(manifest, "aarch64", {"qemu-x86_64", "qemu-arm", "qemu-riscv64"});
  CHECK(e.kernel_arch == "aarch64");
  REQUIRE(e.probes.size() == 3);
  CHECK(e.probes[0].handler == "qemu-x86_64");
  CHECK(e.probes[0].arch == "amd64");
  CHECK(e.probes[0].ran);
  CHECK(e.probes[1].arch == "arm");
  CHECK(e.probes[1].ran);
  CHECK_FALSE(e.probes[2].ran);  // asked for, but the image has none
  CHECK(e.probes[2].error == "not in the guest image");
  // An unreadable manifest expects nothing to run: the boot will tell.
  VmDriver::Expected broken = ExpectedFromImage("{not json", "aarch64", {"qemu-x86_64"});
  REQUIRE(broken.probes.size() == 1);
  CHECK_FALSE(broken.probes[0].ran);
}

TEST_CASE("host facts come from /proc/cpuinfo's flags and /dev/kvm", "[vmm][qemu]") {
  char path[] = "/tmp/sy-cpuinfo-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string text = "processor\t: 0\nflags\t\t: fpu vme svm sse2\n";
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  HostFacts facts = ReadHostFacts(path, "/nonexistent/kvm");
  ::unlink(path);
  CHECK(facts.os == "linux");
  CHECK(facts.cpu_virtualization);
  CHECK_FALSE(facts.kvm_device);
}

TEST_CASE("each guest arch boots the kernel file the image builder writes for it", "[vmm][qemu]") {
  // tools/guest-image/guest_image_plan.py KERNEL_FILE names the same files.
  CHECK(GuestKernelFile("x86_64") == "vmlinux");
  CHECK(GuestKernelFile("aarch64") == "Image");
}

}  // namespace
}  // namespace switchyard::vmm
