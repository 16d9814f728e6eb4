#include "libs/vmm/qemu_driver.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "guest-agent/capabilities.h"
#include "guest-agent/manager_lease.h"
#include "libs/stream_mux/agent_ports.h"
#include "libs/tunnel/sockets.h"
#include "libs/vmm/sandbox_driver.h"
#include "libs/vmm/vm_record.h"
#include "spdlog/spdlog.h"

namespace switchyard::vmm {
namespace fs = std::filesystem;
namespace {

constexpr char kGuestStateDir[] = "/var/lib/switchyard";

std::string HostMachine() {
  utsname u{};
  ::uname(&u);
  return u.machine;
}

// The last lines of a log, for an error that says why QEMU ended.
std::string Tail(const std::string& path, size_t max_bytes = 600) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  while (!all.empty() && (all.back() == '\n' || all.back() == ' ')) all.pop_back();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

}  // namespace

std::string DefaultGuestImage() {
  const std::string machine = HostMachine();
  const std::string arch = machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine;
  return absl::StrCat("/var/cache/switchyard/guest/current-", arch);
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

QemuDriver::QemuDriver(QemuDriverOptions options) : options_(std::move(options)) {}

QemuDriver::~QemuDriver() {
  // The VM outlives us (our successor adopts it); only our end of the link goes.
  if (link_ != nullptr) link_->Stop();
  if (relay_ != nullptr) relay_->Stop();
  if (lease_fd_ >= 0) ::close(lease_fd_);
  qemu_.Release();
}

std::string QemuDriver::AgentEndpoint() const { return (fs::path(spec_.state_dir) / "agent.sock").string(); }
std::string QemuDriver::TunnelEndpoint() const { return (fs::path(spec_.state_dir) / "tunnel.sock").string(); }
std::string QemuDriver::LeaseEndpoint() const { return (fs::path(spec_.state_dir) / "manager.sock").string(); }
std::string QemuDriver::RecordPath() const { return (fs::path(spec_.state_dir) / "vm.json").string(); }

QemuDriver::Expected QemuDriver::ExpectedBeforeBoot(const VmSpec& spec) const {
  // The guest registers the host's own qemu-user binaries: proven here the
  // way the agent proves them, until the guest reports its own probe.
  agent::Capabilities caps = agent::ProbeCapabilities(spec.probe_dir);
  Expected expected{HostMachine(), {}};
  for (const agent::TranslatorProbe& probe : caps.probes) {
    if (std::find(options_.translators.begin(), options_.translators.end(), probe.handler) !=
        options_.translators.end()) {
      expected.probes.push_back(probe);
    }
  }
  return expected;
}

absl::StatusOr<QemuVm> QemuDriver::Plan(const VmSpec& spec) const {
  QemuVm vm;
  vm.guest_arch = HostMachine();
  vm.qemu_bin = options_.qemu_bin.empty() ? absl::StrCat("/usr/bin/qemu-system-", vm.guest_arch) : options_.qemu_bin;
  vm.name = absl::StrCat("switchyard-", spec.backend);
  absl::StatusOr<AcceleratorChoice> accel = ChooseAccelerator(ReadHostFacts(), options_.accel);
  if (!accel.ok()) return accel.status();
  vm.accel = accel->accel;
  vm.cpus = options_.cpus;
  vm.memory_mib = options_.memory_mib;
  vm.kernel = (fs::path(options_.image_dir) / "vmlinux").string();
  vm.initrd = (fs::path(options_.image_dir) / "initrd.img").string();
  for (const std::string& file : {vm.kernel, vm.initrd}) {
    if (!fs::exists(file)) {
      return absl::FailedPreconditionError(
          absl::StrCat("no guest image at ", options_.image_dir, " (", file, " missing): build it with tools/guest-image/build"));
    }
  }
  for (size_t i = 0; i < options_.shares.size(); ++i) vm.shares.emplace_back(ShareTag(i), options_.shares[i]);
  if (::access(options_.vhost_vsock.c_str(), R_OK | W_OK) == 0) vm.vsock_cid = VsockCid(spec.state_dir);
  absl::StatusOr<std::string> cmdline =
      GuestKernelCmdline(vm.guest_arch == "x86_64" ? "ttyS0" : "ttyAMA0", spec.hostname.empty() ? spec.backend : spec.hostname,
                         GuestAgentArgs(spec, vm.vsock_cid != 0), vm.shares, options_.translators);
  if (!cmdline.ok()) return cmdline.status();
  vm.cmdline = *cmdline;
  vm.data_disk = (fs::path(spec.state_dir) / "data.img").string();
  vm.serial_socket = (fs::path(spec.state_dir) / "vport.sock").string();
  vm.serial_port_name = kAgentSerialPort;
  vm.console_log = (fs::path(spec.state_dir) / "console.log").string();
  vm.pidfile = (fs::path(spec.state_dir) / "qemu.pid").string();
  return vm;
}

absl::Status QemuDriver::StartLink() {
  if (link_ != nullptr || relay_ != nullptr) return absl::OkStatus();
  if (vsock_cid_ != 0) {
    relay_ = std::make_unique<tunnel::PortRelay>();
    for (const auto& [port, path] : std::map<uint32_t, std::string>{{stream_mux::kAgentPort, AgentEndpoint()},
                                                                    {stream_mux::kTunnelPort, TunnelEndpoint()},
                                                                    {stream_mux::kLeasePort, LeaseEndpoint()}}) {
      absl::StatusOr<int> fd = tunnel::ListenUnix(path);
      if (!fd.ok()) {
        relay_.reset();
        return fd.status();
      }
      relay_->Relay(*fd, absl::StrCat("vsock ", vsock_cid_, ":", port),
                    [cid = vsock_cid_, port = port] { return tunnel::ConnectVsock(cid, port); }, path);
    }
    return absl::OkStatus();
  }
  stream_mux::MuxOptions options;
  options.role = stream_mux::MuxOptions::Role::kOpener;
  options.name = spec_.backend;
  options.ports = {{stream_mux::kAgentPort, AgentEndpoint()},
                   {stream_mux::kTunnelPort, TunnelEndpoint()},
                   {stream_mux::kLeasePort, LeaseEndpoint()}};
  const std::string serial_socket = (fs::path(spec_.state_dir) / "vport.sock").string();
  options.dial_link = [serial_socket]() { return tunnel::ConnectUnix(serial_socket); };
  link_ = std::make_unique<stream_mux::MuxLink>(std::move(options));
  absl::Status started = link_->Start();
  if (!started.ok()) link_.reset();
  return started;
}

absl::Status QemuDriver::Boot(const VmSpec& spec) {
  spec_ = spec;
  exit_reason_.clear();
  std::error_code ec;
  fs::create_directories(spec.state_dir, ec);
  absl::StatusOr<QemuVm> vm = Plan(spec);
  if (!vm.ok()) return vm.status();
  AcceleratorChoice choice = *ChooseAccelerator(ReadHostFacts(), options_.accel);
  accelerator_ = absl::StrCat(choice.accel, ": ", choice.reason);
  // A sparse file: it takes only what the guest writes.
  if (!fs::exists(vm->data_disk)) {
    std::ofstream(vm->data_disk).close();
    fs::resize_file(vm->data_disk, static_cast<uintmax_t>(options_.disk_gib) << 30, ec);
    if (ec) return absl::InternalError(absl::StrCat("create the data disk ", vm->data_disk, ": ", ec.message()));
  }
  ::unlink(vm->serial_socket.c_str());
  vsock_cid_ = vm->vsock_cid;
  std::vector<std::string> args = QemuArgs(*vm);
  const std::string log_path = (fs::path(spec.state_dir) / "qemu.log").string();
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  absl::StatusOr<pid_t> pid = SpawnDetached(args, {}, log_fd);
  if (log_fd >= 0) ::close(log_fd);
  if (!pid.ok()) return pid.status();
  qemu_ = {*pid, PidfdOpen(*pid), true};
  spdlog::info("vmm[{}] qemu VM booting: pid {}, accelerator {}, {} MiB, {} CPUs, agent over {}, image {}",
               spec.backend, *pid, accelerator_, vm->memory_mib, vm->cpus,
               vm->vsock_cid != 0 ? absl::StrCat("vsock (cid ", vm->vsock_cid, ")") : "virtio-serial",
               options_.image_dir);
  // QEMU fails fast on a bad option or accelerator: say why, from its log.
  if (std::optional<std::string> ended = qemu_.WaitEnd(absl::Milliseconds(300)); ended.has_value()) {
    qemu_.Release();
    return absl::UnavailableError(absl::StrCat("qemu ", *ended, ": ", Tail(log_path)));
  }
  VmRecord record;
  record.boot_id = CurrentBootId();
  record.agent_pid = *pid;  // the VM's one host process
  absl::StatusOr<uint64_t> start = ProcessStartTime(*pid);
  record.agent_start = start.ok() ? *start : 0;
  record.agent_args = args;
  if (absl::Status saved = WriteVmRecord(RecordPath(), record); !saved.ok()) {
    spdlog::warn("vmm[{}] {}", spec.backend, saved.ToString());
  }
  if (absl::Status linked = StartLink(); !linked.ok()) return linked;
  HoldLease();
  return absl::OkStatus();
}

bool QemuDriver::Adopt(const VmSpec& spec) {
  if (qemu_.pid > 0) return false;
  spec_ = spec;
  exit_reason_.clear();
  absl::StatusOr<VmRecord> record = ReadVmRecord(RecordPath());
  if (!record.ok()) return false;
  absl::StatusOr<QemuVm> vm = Plan(spec);
  if (record->boot_id == CurrentBootId() && record->agent_pid > 0) {
    HostProcess p{record->agent_pid, PidfdOpen(record->agent_pid), false};
    if (p.pidfd >= 0 && IsSameProcess(record->agent_pid, record->agent_start) && vm.ok() &&
        record->agent_args == QemuArgs(*vm)) {
      qemu_ = p;
      vsock_cid_ = vm->vsock_cid;
      AcceleratorChoice choice = *ChooseAccelerator(ReadHostFacts(), options_.accel);
      accelerator_ = absl::StrCat(choice.accel, ": ", choice.reason);
      if (StartLink().ok()) {
        HoldLease();
        spdlog::info("vmm[{}] adopted the running qemu VM: pid {}", spec.backend, qemu_.pid);
        return true;
      }
    }
    p.Release();
    qemu_ = {};
    // Not ours to carry on with: stop what is left of it.
    HostProcess left{record->agent_pid, PidfdOpen(record->agent_pid), false};
    if (left.pidfd >= 0 && IsSameProcess(record->agent_pid, record->agent_start)) {
      spdlog::warn("vmm[{}] the qemu VM left running (pid {}) was booted for another configuration: stopping it",
                   spec.backend, record->agent_pid);
      qemu_ = left;
      (void)Stop(absl::Seconds(10));
      return false;
    }
    left.Release();
  }
  Cleanup();
  return false;
}

void QemuDriver::HoldLease() {
  if (lease_fd_ >= 0) return;
  absl::StatusOr<int> fd = tunnel::ConnectUnix(LeaseEndpoint());
  if (fd.ok()) lease_fd_ = *fd;
}

bool QemuDriver::IsRunning() {
  if (qemu_.pid <= 0) return false;
  std::optional<std::string> ended = qemu_.WaitEnd(absl::ZeroDuration());
  if (!ended.has_value()) {
    HoldLease();
    return true;
  }
  exit_reason_ = absl::StrCat("qemu ", *ended);
  const std::string console = Tail((fs::path(spec_.state_dir) / "console.log").string(), 300);
  if (!console.empty()) absl::StrAppend(&exit_reason_, "; the guest's last words: ", console);
  spdlog::warn("vmm[{}] qemu VM ended: {}", spec_.backend, exit_reason_);
  qemu_.Release();
  return false;
}

absl::Status QemuDriver::Stop(absl::Duration grace) {
  if (qemu_.pid > 0) {
    // The agent stops dockerd and its containers, then the guest powers off.
    if (lease_fd_ >= 0) (void)!::write(lease_fd_, &agent::kShutDownNow, 1);
    std::optional<std::string> ended = qemu_.WaitEnd(grace);
    if (!ended.has_value()) {
      spdlog::warn("vmm[{}] the guest did not power off within {}: stopping qemu", spec_.backend,
                   absl::FormatDuration(grace));
      qemu_.Signal(SIGTERM);
      ended = qemu_.WaitEnd(absl::Seconds(10));
      if (!ended.has_value()) {
        qemu_.Signal(SIGKILL);
        ended = qemu_.WaitEnd(absl::Seconds(10));
      }
    }
    exit_reason_ = ended.has_value() ? absl::StrCat("stopped (qemu ", *ended, ")") : "stopped";
    qemu_.Release();
  }
  Cleanup();
  spdlog::info("vmm[{}] qemu VM stopped", spec_.backend);
  return absl::OkStatus();
}

void QemuDriver::Cleanup() {
  // Either removes agent.sock, tunnel.sock, manager.sock.
  if (link_ != nullptr) link_->Stop();
  link_.reset();
  if (relay_ != nullptr) relay_->Stop();
  relay_.reset();
  if (lease_fd_ >= 0) ::close(lease_fd_);
  lease_fd_ = -1;
  for (const char* name : {"vport.sock", "qemu.pid", "vm.json"}) ::unlink((fs::path(spec_.state_dir) / name).c_str());
}

}  // namespace switchyard::vmm
