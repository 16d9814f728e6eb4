// switchyard-agent: PID 1 of a VM. Reaps every zombie, supervises the guest
// dockerd, forwards selected host-loopback ports into the guest, and serves
// GuestAgent on its endpoint (a Unix socket standing in for vsock port 1024).
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "guest-agent/agent_service.h"
#include "guest-agent/capabilities.h"
#include "guest-agent/dockerd_supervisor.h"
#include "guest-agent/loopback_forwarder.h"
#include "guest-agent/manager_lease.h"
#include "guest-agent/handoff_server.h"
#include "guest-agent/published_addresses.h"
#include "guest-agent/serial_link.h"
#include "libs/tunnel/port_relay.h"
#include "libs/stream_mux/agent_ports.h"
#include "guest-agent/tunnel_server.h"
#include "libs/state_lock/state_lock.h"
#include "libs/rpc/unix_server.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, backend, "", "Backend this VM serves (hv or vz), for logs.");
ABSL_FLAG(std::string, state_dir, "", "The VM's state directory (dockerd data, exec root, socket, logs).");
ABSL_FLAG(std::string, socket, "", "Agent gRPC Unix socket (stands in for vsock port 1024). Default <state_dir>/agent.sock.");
ABSL_FLAG(std::string, tunnel_socket, "",
          "Raw port-tunnel Unix socket (stands in for vsock port 1025). Default <state_dir>/tunnel.sock.");
ABSL_FLAG(std::string, handoff_socket, "",
          "Unix socket where the VM manager lends host TCP listeners, for an agent on the host's kernel "
          "(the sandbox). "
          "Default <state_dir>/handoff.sock; \"none\" disables it.");
ABSL_FLAG(std::string, manager_socket, "",
          "Where a VM manager holds the VM (guest-agent/manager_lease.h). Default <state_dir>/manager.sock.");
ABSL_FLAG(absl::Duration, manager_grace, absl::ZeroDuration(),
          "Shut the VM down once no VM manager has held it this long; 0: never (an agent outside a VM).");
ABSL_FLAG(std::string, serial_port, "",
          "In a VM without vsock: the name of the virtio-serial port over which the VM manager reaches the "
          "agent's sockets (libs/stream_mux).");
ABSL_FLAG(bool, vsock, false,
          "In a VM with vsock (vfkit, krunkit, qemu's vhost-vsock): serve the agent's sockets on vsock ports "
          "1024 (agent), 1025 (tunnels) and 1026 (lease).");
ABSL_FLAG(std::string, dockerd, "/usr/sbin/dockerd", "dockerd binary.");
ABSL_FLAG(std::string, probe_dir, switchyard::agent::kDefaultProbeDir,
          "Directory of busybox-<arch> probe binaries that prove each translator.");
ABSL_FLAG(std::string, bip, "", "dockerd --bip (bridge address/prefix).");
ABSL_FLAG(std::string, default_address_pool, "", "Base of dockerd's --default-address-pool (size 24).");
ABSL_FLAG(std::string, cgroup_parent, "", "dockerd --cgroup-parent.");
ABSL_FLAG(std::string, loopback_forward, "", "Comma list of TCP ports: guest 127.0.0.1:P reaches host 127.0.0.1:P.");
ABSL_FLAG(std::string, insecure_registries, "", "Comma list of registries dockerd may use over plain HTTP.");

namespace switchyard::agent {
namespace {

void NoopHandler(int) {}

absl::Status BringUp(const char* ifname) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
  absl::Status status;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) status = absl::InternalError(std::strerror(errno));
  } else {
    status = absl::InternalError(std::strerror(errno));
  }
  ::close(fd);
  return status;
}

bool HasIpv4(const char* ifname) {
  ifaddrs* addrs = nullptr;
  if (::getifaddrs(&addrs) != 0) return false;
  bool found = false;
  for (ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr != nullptr && a->ifa_addr->sa_family == AF_INET && std::strcmp(a->ifa_name, ifname) == 0) {
      found = true;
    }
  }
  ::freeifaddrs(addrs);
  return found;
}

std::vector<std::string> SplitList(const std::string& list) {
  return absl::StrSplit(list, ',', absl::SkipWhitespace());
}

int Main() {
  const std::string backend = absl::GetFlag(FLAGS_backend);
  auto logger = spdlog::stdout_logger_mt(absl::StrCat("agent[", backend, "]"));
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %n %l: %v");
  spdlog::flush_on(spdlog::level::info);

  DockerdConfig config;
  config.dockerd_bin = absl::GetFlag(FLAGS_dockerd);
  config.state_dir = absl::GetFlag(FLAGS_state_dir);
  config.bip = absl::GetFlag(FLAGS_bip);
  config.default_address_pool = absl::GetFlag(FLAGS_default_address_pool);
  config.cgroup_parent = absl::GetFlag(FLAGS_cgroup_parent);
  config.insecure_registries = SplitList(absl::GetFlag(FLAGS_insecure_registries));
  if (config.state_dir.empty()) {
    spdlog::error("--state_dir is required");
    return 2;
  }
  std::string socket = absl::GetFlag(FLAGS_socket);
  if (socket.empty()) socket = config.state_dir + "/agent.sock";
  std::string tunnel_socket = absl::GetFlag(FLAGS_tunnel_socket);
  if (tunnel_socket.empty()) tunnel_socket = config.state_dir + "/tunnel.sock";
  std::string handoff_socket = absl::GetFlag(FLAGS_handoff_socket);
  if (handoff_socket.empty()) handoff_socket = config.state_dir + "/handoff.sock";
  auto ports = ParsePorts(absl::GetFlag(FLAGS_loopback_forward));
  if (!ports.ok()) {
    spdlog::error("--loopback_forward: {}", std::string(ports.status().message()));
    return 2;
  }

  // SIGTERM/SIGINT are taken by sigwait below; a handler must exist because
  // PID 1 of a namespace does not receive signals left at SIG_DFL.
  ::signal(SIGTERM, NoopHandler);
  ::signal(SIGINT, NoopHandler);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // One agent per state directory, whatever its manager believes: a second
  // would run a second dockerd on the same data root.
  absl::StatusOr<int> state_lock = LockExclusive(config.state_dir + "/agent.lock");
  if (!state_lock.ok()) {
    spdlog::error("another agent runs on {}: {}", config.state_dir, std::string(state_lock.status().message()));
    return 1;
  }

  // Early, so a manager's hold counts from the start; the signal mask above
  // is inherited by its thread, and sigwait below takes the SIGTERM it sends.
  std::string manager_socket = absl::GetFlag(FLAGS_manager_socket);
  if (manager_socket.empty()) manager_socket = config.state_dir + "/manager.sock";
  ManagerLease lease(absl::GetFlag(FLAGS_manager_grace), [] { ::kill(::getpid(), SIGTERM); });
  if (absl::GetFlag(FLAGS_manager_grace) > absl::ZeroDuration()) {
    if (auto st = lease.Start(manager_socket); !st.ok()) {
      spdlog::error("manager lease on {}: {}", manager_socket, std::string(st.message()));
      return 1;
    }
  }

  // The VM manager's way in, on a VM: it connects to the lease first.
  const std::map<uint32_t, std::string> port_sockets =
      stream_mux::AgentPortSockets(socket, tunnel_socket, manager_socket);
  std::unique_ptr<stream_mux::MuxLink> serial_link;
  if (const std::string port = absl::GetFlag(FLAGS_serial_port); !port.empty()) {
    auto link = ServeOverSerialPort(port, port_sockets);
    if (!link.ok()) {
      spdlog::error("serial port {}: {}", port, std::string(link.status().message()));
      return 1;
    }
    serial_link = *std::move(link);
    spdlog::info("serving the VM manager over virtio-serial port {}", port);
  }
  std::unique_ptr<tunnel::PortRelay> vsock_relay;
  if (absl::GetFlag(FLAGS_vsock)) {
    auto relay = tunnel::ServeVsockPorts(port_sockets);
    if (!relay.ok()) {
      spdlog::error("vsock: {}", std::string(relay.status().message()));
      return 1;
    }
    vsock_relay = *std::move(relay);
    spdlog::info("serving the VM manager on vsock ports {}-{}", stream_mux::kAgentPort, stream_mux::kLeasePort);
  }

  const bool is_init = ::getpid() == 1;
  // Outside a VM (tests), still collect orphans so nothing stays a zombie.
  if (!is_init) ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  // Before the reaper below starts: each probe is our child, waited for here.
  Capabilities caps = ProbeCapabilities(absl::GetFlag(FLAGS_probe_dir));
  for (const TranslatorProbe& probe : caps.probes) {
    if (probe.ran) {
      spdlog::info("translator {} runs {} (probe {:.1f} ms)", probe.handler, probe.arch, probe.millis);
    } else {
      spdlog::warn("translator {} for {} does not work: {}", probe.handler, probe.arch, probe.error);
    }
  }
  spdlog::info("guest {} translators [{}]", caps.kernel_arch, absl::StrJoin(caps.translators, ","));

  DockerdSupervisor supervisor(config);
  // Orphans of the guest (containerd-shim, exited container processes)
  // reparent to us: reap them all, and tell the supervisor about dockerd.
  std::thread([&supervisor] {
    while (true) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, 0);
      if (pid > 0) {
        supervisor.OnChildExit(pid, status);
      } else if (errno == ECHILD) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }).detach();

  if (auto st = BringUp("lo"); !st.ok()) spdlog::warn("cannot bring lo up: {}", std::string(st.message()));
  if (is_init) {
    // slirp4netns configures tap0 before we are released; check, bounded.
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!HasIpv4("tap0") && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(100));
    if (!HasIpv4("tap0")) spdlog::warn("tap0 has no address: the guest has no link to the host");
  }


  // Before dockerd starts: it restarts containers published on these.
  PublishedAddresses addresses(config.state_dir + "/published-addresses");
  if (auto st = addresses.Restore(); !st.ok()) {
    spdlog::warn("published host addresses: {}", std::string(st.message()));
  }

  if (auto st = supervisor.Start(); !st.ok()) {
    spdlog::error("cannot start dockerd supervision: {}", std::string(st.message()));
    return 1;
  }
  LoopbackForwarder forwarder;
  if (auto st = forwarder.Start(*ports); !st.ok()) spdlog::error("loopback forwarding: {}", std::string(st.message()));

  // Port tunnels from the VM manager; ready before the agent answers, so a
  // manager that sees the agent up can tunnel at once.
  TunnelServer tunnels;
  if (auto st = tunnels.Start(tunnel_socket); !st.ok()) spdlog::error("port tunnels: {}", std::string(st.message()));
  HandoffServer handoffs;
  if (handoff_socket != "none") {
    if (auto st = handoffs.Start(handoff_socket); !st.ok()) spdlog::error("socket handoff: {}", std::string(st.message()));
  }

  AgentService service(caps, &supervisor, &addresses);
  auto server = rpc::StartUnixServer(socket, {&service});
  if (!server.ok()) {
    spdlog::error("cannot serve on {}: {}", socket, std::string(server.status().message()));
    handoffs.Stop();
    tunnels.Stop();
    supervisor.Stop(absl::Seconds(15));
    return 1;
  }
  spdlog::info("serving GuestAgent on {}", socket);

  int sig = 0;
  while (::sigwait(&signals, &sig) != 0) {
  }
  spdlog::info("signal {}: shutting down", sig);
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  handoffs.Stop();
  tunnels.Stop();
  forwarder.Stop();
  supervisor.Stop(absl::Seconds(15));
  lease.Stop();
  if (serial_link != nullptr) serial_link->Stop();
  if (vsock_relay != nullptr) vsock_relay->Stop();
  ::unlink(socket.c_str());
  spdlog::info("stopped");
  // As PID 1 our exit ends every process left in the guest.
  return 0;
}

}  // namespace
}  // namespace switchyard::agent

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return switchyard::agent::Main();
}
