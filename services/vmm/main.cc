// switchyard-vmm: one per VM. Boots the VM through its driver, watches it,
// and serves VmManager on <run_dir>/vmm-<backend>.sock.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "guest-agent/loopback_forwarder.h"
#include "libs/rpc/unix_server.h"
#include "libs/run_dir/run_dir.h"
#include "libs/state_lock/state_lock.h"
#include "libs/vmm/mac_drivers.h"
#include "libs/vmm/qemu_driver.h"
#include "libs/vmm/sandbox_driver.h"
#include "services/vmm/vm_manager_service.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, backend, "", "Which VM this manager runs: hv or vz.");
ABSL_FLAG(std::string, driver, "sandbox",
          "VM driver: sandbox (namespaces on the host's kernel) or qemu (a real VM from the guest image).");
ABSL_FLAG(std::string, guest_image, "",
          "qemu: the guest image directory (tools/guest-image/build); default "
          "/var/cache/switchyard/guest/current-<arch>.");
ABSL_FLAG(std::string, guest_arch, "",
          "qemu: the guest's arch (amd64, arm64); empty: this machine's. Another arch runs under tcg.");
ABSL_FLAG(std::string, accelerator, "", "qemu: kvm, hvf or tcg; empty chooses what works on this host.");
ABSL_FLAG(std::string, guest_boot, "kernel", "qemu: kernel (the image's kernel and initramfs) or efi (its EFI disk).");
ABSL_FLAG(int, memory_mib, 2048, "qemu: the VM's memory.");
ABSL_FLAG(int, cpus, 2, "qemu: the VM's CPUs.");
ABSL_FLAG(int, disk_gib, 64, "qemu: the size of the VM's data disk (a sparse file).");
ABSL_FLAG(std::string, shares, "/home,/tmp", "qemu: host directories mounted in the guest at the same paths.");
ABSL_FLAG(std::string, translators, "",
          "qemu: binfmt handlers the guest registers from its image (e.g. qemu-aarch64).");
ABSL_FLAG(std::string, run_dir, "/run/switchyard", "Private run directory; serves <run_dir>/vmm-<backend>.sock.");
ABSL_FLAG(std::string, state_dir, "", "The VM's state directory (default /var/lib/switchyard/vms/<backend>). Not under /run.");
ABSL_FLAG(std::string, agent_bin, "", "switchyard-agent binary (default: next to this binary, or the build tree's).");
ABSL_FLAG(std::string, dockerd, "/usr/sbin/dockerd", "dockerd binary inside the VM.");
ABSL_FLAG(std::string, bip, "", "Guest dockerd --bip.");
ABSL_FLAG(std::string, default_address_pool, "", "Base of the guest dockerd's default address pool (size 24).");
ABSL_FLAG(std::string, cgroup_parent, "", "Guest dockerd --cgroup-parent (default /switchyard-<backend>).");
ABSL_FLAG(std::string, loopback_forward, "", "Comma list of host loopback TCP ports visible on the guest's loopback.");
ABSL_FLAG(std::string, insecure_registries, "", "Comma list of registries the guest dockerd may use over HTTP.");
ABSL_FLAG(std::string, probe_dir, switchyard::agent::kDefaultProbeDir,
          "Directory of busybox-<arch> binaries that prove each translator at boot.");
ABSL_FLAG(std::string, start, "eager", "eager: boot the VM at once; on-demand: when a call first needs it.");
ABSL_FLAG(absl::Duration, idle_stop, absl::ZeroDuration(), "Stop the VM after this long idle (0: never).");
ABSL_FLAG(absl::Duration, udp_flow_idle, absl::Seconds(60),
          "A forwarded UDP flow silent this long is closed (its guest socket too).");

namespace switchyard::vmm {
namespace {
namespace fs = std::filesystem;

std::string DefaultAgentBin() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (fs::path candidate : {self / "switchyard-agent", self / "../../guest-agent/switchyard-agent"}) {
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  }
  return "/usr/libexec/switchyard/switchyard-agent";
}

std::unique_ptr<VmDriver> MakeDriver(const std::string& name) {
  if (name == "sandbox") return std::make_unique<SandboxDriver>();
  if (name == "vfkit" || name == "krunkit") {
    MacDriverOptions options;
    options.binary = absl::StrCat("/opt/homebrew/bin/", name);
    options.image_dir = absl::GetFlag(FLAGS_guest_image);
    if (options.image_dir.empty()) options.image_dir = DefaultGuestImage();
    options.memory_mib = absl::GetFlag(FLAGS_memory_mib);
    options.cpus = absl::GetFlag(FLAGS_cpus);
    options.disk_gib = absl::GetFlag(FLAGS_disk_gib);
    options.shares = absl::StrSplit(absl::GetFlag(FLAGS_shares), ',', absl::SkipWhitespace());
    options.translators = absl::StrSplit(absl::GetFlag(FLAGS_translators), ',', absl::SkipWhitespace());
    if (name == "vfkit") return std::make_unique<VfkitDriver>(std::move(options));
    return std::make_unique<KrunkitDriver>(std::move(options));
  }
  QemuDriverOptions options;
  absl::StatusOr<std::string> machine = GuestMachine(absl::GetFlag(FLAGS_guest_arch));
  if (!machine.ok()) {
    spdlog::error("vmm: --guest_arch: {}", std::string(machine.status().message()));
    return nullptr;
  }
  options.guest_arch = *machine;
  options.image_dir = absl::GetFlag(FLAGS_guest_image);
  if (options.image_dir.empty()) options.image_dir = DefaultGuestImage(options.guest_arch);
  options.accel = absl::GetFlag(FLAGS_accelerator);
  options.boot = absl::GetFlag(FLAGS_guest_boot);
  options.memory_mib = absl::GetFlag(FLAGS_memory_mib);
  options.cpus = absl::GetFlag(FLAGS_cpus);
  options.disk_gib = absl::GetFlag(FLAGS_disk_gib);
  options.shares = absl::StrSplit(absl::GetFlag(FLAGS_shares), ',', absl::SkipWhitespace());
  options.translators = absl::StrSplit(absl::GetFlag(FLAGS_translators), ',', absl::SkipWhitespace());
  return std::make_unique<QemuDriver>(std::move(options));
}

int Main() {
  const std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend != "hv" && backend != "vz") {
    spdlog::error("vmm: --backend must be hv or vz, not \"{}\"", backend);
    return 2;
  }
  const std::string driver_name = absl::GetFlag(FLAGS_driver);
#ifdef __APPLE__
  const bool available = driver_name == "qemu" || driver_name == "vfkit" || driver_name == "krunkit";
#else
  const bool available = driver_name == "sandbox" || driver_name == "qemu";
#endif
  if (!available) {
    spdlog::error("vmm[{}]: driver \"{}\" is not available on this host", backend, driver_name);
    return 2;
  }
  VmSpec spec;
  spec.backend = backend;
  spec.state_dir = absl::GetFlag(FLAGS_state_dir);
  if (spec.state_dir.empty()) spec.state_dir = absl::StrCat("/var/lib/switchyard/vms/", backend);
  spec.state_dir = fs::absolute(spec.state_dir).string();
  if (spec.state_dir == "/run" || spec.state_dir.rfind("/run/", 0) == 0) {
    // The guest mounts its own /run: a state dir there would vanish inside it.
    spdlog::error("vmm[{}]: --state_dir must not be under /run", backend);
    return 2;
  }
  spec.agent_bin = absl::GetFlag(FLAGS_agent_bin);
  if (spec.agent_bin.empty()) spec.agent_bin = DefaultAgentBin();
  spec.dockerd_bin = absl::GetFlag(FLAGS_dockerd);
  spec.probe_dir = absl::GetFlag(FLAGS_probe_dir);
  spec.bip = absl::GetFlag(FLAGS_bip);
  spec.default_address_pool = absl::GetFlag(FLAGS_default_address_pool);
  spec.cgroup_parent = absl::GetFlag(FLAGS_cgroup_parent);
  if (spec.cgroup_parent.empty()) spec.cgroup_parent = absl::StrCat("/switchyard-", backend);
  auto ports = agent::ParsePorts(absl::GetFlag(FLAGS_loopback_forward));
  if (!ports.ok()) {
    spdlog::error("vmm[{}]: --loopback_forward: {}", backend, std::string(ports.status().message()));
    return 2;
  }
  spec.loopback_forward_ports = *ports;
  spec.insecure_registries = absl::StrSplit(absl::GetFlag(FLAGS_insecure_registries), ',', absl::SkipWhitespace());
  spec.hostname = absl::StrCat("switchyard-", backend);

  // One manager per VM: a second would boot a second VM on the same state.
  std::error_code lock_ec;
  fs::create_directories(spec.state_dir, lock_ec);
  // An unusable state directory is not fatal here: the boot then fails and
  // says why, to the scheduler and `docker info`.
  absl::StatusOr<int> state_lock = LockExclusive(spec.state_dir + "/vmm.lock");
  if (absl::IsFailedPrecondition(state_lock.status())) {
    spdlog::error("vmm[{}]: another VM manager runs for {}: {}", backend, spec.state_dir,
                  std::string(state_lock.status().message()));
    return 1;
  }

  const std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  if (absl::Status prepared = switchyard::run_dir::Prepare(run_dir); !prepared.ok()) {
    spdlog::error("vmm[{}]: {}", backend, prepared.ToString());
    return 1;
  }
  const std::string socket = absl::StrCat(run_dir, "/vmm-", backend, ".sock");

  // Signals are taken by sigwait; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  VmManagerOptions options;
  options.ports.udp_idle_timeout = absl::GetFlag(FLAGS_udp_flow_idle);
  options.boot_at_start = absl::GetFlag(FLAGS_start) != "on-demand";
  options.idle_stop = absl::GetFlag(FLAGS_idle_stop);
  // Published ports are bound by SyncPorts calls from the scheduler; Shutdown
  // below closes every listener and tunneled connection before the VM stops.
  std::unique_ptr<VmDriver> driver = MakeDriver(driver_name);
  if (driver == nullptr) return 2;
  VmManagerService service(std::move(driver), spec, UnixAgentConnector(), options);
  auto server = rpc::StartUnixServer(socket, {&service});
  if (!server.ok()) {
    spdlog::error("vmm[{}]: {}", backend, std::string(server.status().message()));
    return 1;
  }
  spdlog::info("vmm[{}] serving VmManager on {} (state {}, agent {})", backend, socket, spec.state_dir,
               spec.agent_bin);
  service.Start();

  int sig = 0;
  while (::sigwait(&signals, &sig) != 0) {
  }
  spdlog::info("vmm[{}] signal {}: stopping", backend, sig);
  rpc::SetServing(**server, false);
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  service.Shutdown();
  ::unlink(socket.c_str());
  spdlog::info("vmm[{}] stopped", backend);
  return 0;
}

}  // namespace
}  // namespace switchyard::vmm

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return switchyard::vmm::Main();
}
