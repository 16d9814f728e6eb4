#include "libs/vmm/qemu_driver.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "guest-agent/capabilities.h"
#include "nlohmann/json.hpp"
#include "libs/stream_mux/agent_ports.h"
#include "libs/tunnel/sockets.h"
#include "libs/vmm/sandbox_driver.h"

namespace switchyard::vmm {
namespace fs = std::filesystem;
namespace {

constexpr char kGuestStateDir[] = "/var/lib/switchyard";

}  // namespace

std::string HostMachine() {
  utsname u{};
  ::uname(&u);
  return u.machine;
}

// Docker's (and Debian's) name of each guest arch, and its kernel's (uname).
constexpr std::pair<const char*, const char*> kGuestArchs[] = {{"amd64", "x86_64"}, {"arm64", "aarch64"}};

std::string DefaultGuestImage(const std::string& guest_machine) {
  std::string arch = guest_machine.empty() ? HostMachine() : guest_machine;
  for (const auto& [docker, machine] : kGuestArchs) {
    if (arch == machine) arch = docker;
  }
  return absl::StrCat("/var/cache/switchyard/guest/current-", arch);
}

absl::StatusOr<std::string> GuestMachine(const std::string& arch) {
  if (arch.empty()) return HostMachine();
  for (const auto& [docker, machine] : kGuestArchs) {
    if (arch == docker) return std::string(machine);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("guest arch \"", arch, "\": accepted \"amd64\", \"arm64\", \"\" (this machine's)"));
}

std::vector<std::string> GuestAgentArgs(const VmSpec& spec, bool vsock) {
  VmSpec guest = spec;
  guest.agent_bin = "/usr/bin/switchyard-agent";
  guest.state_dir = kGuestStateDir;
  guest.dockerd_bin = "/usr/sbin/dockerd";
  guest.probe_dir = agent::kDefaultProbeDir;
  std::vector<std::string> args = AgentArgs(guest, absl::StrCat(kGuestStateDir, "/agent.sock"));
  args.erase(args.begin());  // the binary: vm-init.sh runs it
  args.push_back(vsock ? std::string("--vsock") : absl::StrCat("--serial_port=", kAgentSerialPort));
  args.push_back("--handoff_socket=none");  // only a guest on the host's kernel can hold a host socket
  return args;
}

QemuDriver::~QemuDriver() {
  // The VM outlives us (our successor adopts it); only our end of the link goes.
  if (link_ != nullptr) link_->Stop();
  if (relay_ != nullptr) relay_->Stop();
}

VmDriver::Expected ExpectedFromHost(const std::string& probe_dir, const std::vector<std::string>& translators) {
  // The guest registers the host's own translator binaries: proven here the
  // way the agent proves them, until the guest reports its own probe.
  agent::Capabilities caps = agent::ProbeCapabilities(probe_dir);
  VmDriver::Expected expected{HostMachine(), {}};
  for (const agent::TranslatorProbe& probe : caps.probes) {
    if (std::find(translators.begin(), translators.end(), probe.handler) != translators.end()) {
      expected.probes.push_back(probe);
    }
  }
  return expected;
}

VmDriver::Expected ExpectedFromImage(const std::string& manifest_json, const std::string& machine,
                                     const std::vector<std::string>& translators) {
  VmDriver::Expected expected{machine, {}};
  nlohmann::json manifest = nlohmann::json::parse(manifest_json, nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> in_image;
  if (manifest.is_object() && manifest.contains("translators") && manifest["translators"].is_array()) {
    for (const nlohmann::json& t : manifest["translators"]) {
      if (t.is_string()) in_image.push_back(t.get<std::string>());
    }
  }
  for (const std::string& handler : translators) {
    agent::TranslatorProbe probe;
    probe.handler = handler;
    probe.arch = agent::HandlerArch(handler);
    probe.ran = std::find(in_image.begin(), in_image.end(), handler) != in_image.end();
    if (!probe.ran) probe.error = "not in the guest image";
    expected.probes.push_back(std::move(probe));
  }
  return expected;
}

std::string QemuDriver::GuestArch() const {
  return options_.guest_arch.empty() ? HostMachine() : options_.guest_arch;
}

QemuDriver::Expected QemuDriver::ExpectedBeforeBoot(const VmSpec& spec) const {
  const std::string machine = GuestArch();
  if (machine == HostMachine()) return ExpectedFromHost(spec.probe_dir, options_.translators);
  std::ifstream manifest(fs::path(options_.image_dir) / "manifest.json");
  std::stringstream text;
  text << manifest.rdbuf();
  return ExpectedFromImage(text.str(), machine, options_.translators);
}

absl::StatusOr<HypervisorDriver::Launch> QemuDriver::Plan(const VmSpec& spec) const {
  QemuVm vm;
  vm.guest_arch = GuestArch();
  vm.qemu_bin = options_.qemu_bin.empty() ? absl::StrCat("/usr/bin/qemu-system-", vm.guest_arch) : options_.qemu_bin;
  vm.name = absl::StrCat("switchyard-", spec.backend);
  absl::StatusOr<AcceleratorChoice> accel = ChooseAccelerator(
      ReadHostFacts(), options_.accel, vm.guest_arch == HostMachine() ? "" : vm.guest_arch);
  if (!accel.ok()) return accel.status();
  vm.accel = accel->accel;
  vm.cpus = options_.cpus;
  vm.memory_mib = options_.memory_mib;
  const bool efi = options_.boot == "efi";
  if (!efi && options_.boot != "kernel") {
    return absl::InvalidArgumentError(absl::StrCat("guest boot \"", options_.boot, "\": accepted \"kernel\", \"efi\""));
  }
  vm.kernel = (fs::path(options_.image_dir) / GuestKernelFile(vm.guest_arch)).string();
  vm.initrd = (fs::path(options_.image_dir) / "initrd.img").string();
  if (efi) {
    vm.firmware = options_.firmware.empty() ? DefaultFirmware(vm.guest_arch) : options_.firmware;
    vm.efi_disk = (fs::path(options_.image_dir) / "efi.img").string();
    vm.settings_disk = (fs::path(spec.state_dir) / "settings.img").string();
  }
  for (const std::string& file : efi ? std::vector<std::string>{vm.efi_disk} : std::vector{vm.kernel, vm.initrd}) {
    if (!fs::exists(file)) {
      return absl::FailedPreconditionError(absl::StrCat("no guest image at ", options_.image_dir, " (", file,
                                                        " missing): build it with tools/guest-image/build"));
    }
  }
  if (efi && !fs::exists(vm.firmware)) {
    return absl::FailedPreconditionError(absl::StrCat("no UEFI firmware at ", vm.firmware));
  }
  for (size_t i = 0; i < options_.shares.size(); ++i) vm.shares.emplace_back(ShareTag(i), options_.shares[i]);
  if (::access(options_.vhost_vsock.c_str(), R_OK | W_OK) == 0) vm.vsock_cid = VsockCid(spec.state_dir);
  GuestSettings settings{spec.hostname.empty() ? spec.backend : spec.hostname, GuestAgentArgs(spec, vm.vsock_cid != 0),
                         vm.shares, options_.translators, efi ? "/dev/vdb" : ""};
  std::string settings_disk;
  if (efi) {
    absl::StatusOr<std::string> disk = GuestSettingsDisk(settings);
    if (!disk.ok()) return disk.status();
    settings_disk = *std::move(disk);
  } else {
    absl::StatusOr<std::string> cmdline =
        GuestKernelCmdline(vm.guest_arch == "x86_64" ? "ttyS0" : "ttyAMA0", settings);
    if (!cmdline.ok()) return cmdline.status();
    vm.cmdline = *cmdline;
  }
  vm.data_disk = (fs::path(spec.state_dir) / "data.img").string();
  if (vm.vsock_cid == 0) {
    vm.serial_socket = (fs::path(spec.state_dir) / "vport.sock").string();
    vm.serial_port_name = kAgentSerialPort;
  }
  vm.console_log = (fs::path(spec.state_dir) / "console.log").string();
  vm.pidfile = (fs::path(spec.state_dir) / "qemu.pid").string();

  Launch launch;
  launch.args = QemuArgs(vm);
  launch.data_disk = vm.data_disk;
  launch.disk_gib = options_.disk_gib;
  launch.accelerator = absl::StrCat(accel->accel, ": ", accel->reason);
  launch.transport = vm.vsock_cid != 0 ? absl::StrCat("vsock (cid ", vm.vsock_cid, ")") : "virtio-serial";
  launch.vsock_cid = vm.vsock_cid;
  launch.serial_socket = vm.serial_socket;
  if (efi) launch.files.emplace_back(vm.settings_disk, std::move(settings_disk));
  return launch;
}

absl::Status QemuDriver::Connect(const Launch& launch) {
  if (link_ != nullptr || relay_ != nullptr) return absl::OkStatus();
  const std::map<uint32_t, std::string> endpoints =
      stream_mux::AgentPortSockets(AgentEndpoint(), TunnelEndpoint(), LeaseEndpoint());
  if (launch.vsock_cid != 0) {
    relay_ = std::make_unique<tunnel::PortRelay>();
    for (const auto& [port, path] : endpoints) {
      absl::StatusOr<int> fd = tunnel::ListenUnix(path);
      if (!fd.ok()) {
        relay_.reset();
        return fd.status();
      }
      relay_->Relay(*fd, absl::StrCat("vsock ", launch.vsock_cid, ":", port),
                    [cid = launch.vsock_cid, port = port] { return tunnel::ConnectVsock(cid, port); }, path);
    }
    return absl::OkStatus();
  }
  stream_mux::MuxOptions options;
  options.role = stream_mux::MuxOptions::Role::kOpener;
  options.name = spec().backend;
  options.ports = endpoints;
  options.dial_link = [serial_socket = launch.serial_socket]() { return tunnel::ConnectUnix(serial_socket); };
  link_ = std::make_unique<stream_mux::MuxLink>(std::move(options));
  absl::Status started = link_->Start();
  if (!started.ok()) link_.reset();
  return started;
}

void QemuDriver::Disconnect() {
  if (link_ != nullptr) link_->Stop();
  link_.reset();
  if (relay_ != nullptr) relay_->Stop();
  relay_.reset();
  for (const char* name : {"vport.sock", "qemu.pid"}) ::unlink(StatePath(name).c_str());
}

}  // namespace switchyard::vmm
