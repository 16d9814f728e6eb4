#include "libs/vmm/sandbox_driver.h"

#include "guest-agent/capabilities.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "libs/tunnel/sockets.h"
#include "libs/vmm/host_process.h"
#include "libs/vmm/vm_record.h"
#include "spdlog/spdlog.h"

namespace switchyard::vmm {
namespace fs = std::filesystem;
namespace {

constexpr absl::Duration kSlirpReadyTimeout = absl::Seconds(10);

std::string Errno(absl::string_view what) { return absl::StrCat(what, ": ", std::strerror(errno)); }

// Everything the cloned child needs, prepared before clone(2): after it the
// child only makes raw system calls (the parent is multi-threaded).
struct ChildSetup {
  int sync_fd = -1;   // read end: parent writes once slirp4netns is ready
  int error_fd = -1;  // write end, CLOEXEC: a failure message, or EOF on exec
  int log_fd = -1;    // agent stdout/stderr
  int lifeline_fd = -1;  // write end of slirp4netns's exit pipe, kept across exec
  // The parent's ends of the pipes, which the clone copied: closed first, so
  // that a parent dying before it releases us means EOF on sync_fd.
  std::vector<int> parent_fds;
  std::string hostname;
  std::string etc_docker;  // private /etc/docker for the guest dockerd's key.json
  std::vector<std::string> args;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

[[noreturn]] void ChildFail(const ChildSetup& setup, const char* step) {
  int err = errno;
  const char* msg = std::strerror(err);
  (void)!::write(setup.error_fd, step, std::strlen(step));
  (void)!::write(setup.error_fd, ": ", 2);
  (void)!::write(setup.error_fd, msg, std::strlen(msg));
  ::_exit(127);
}

int ChildMain(void* arg) {
  auto& setup = *static_cast<ChildSetup*>(arg);
  // No PR_SET_PDEATHSIG: the VM outlives a crashed manager, and the agent's
  // lease ends it if no manager takes it back. A manager that dies before
  // releasing us closes the last write end of sync_fd, and the read fails.
  for (int fd : setup.parent_fds) ::close(fd);
  char go = 0;
  if (::read(setup.sync_fd, &go, 1) != 1) ChildFail(setup, "waiting for the network");
  // A session of its own: a Ctrl-C meant for the manager's terminal is not
  // the VM's to act on; the manager stops the VM itself.
  ::setsid();
  ::close(setup.sync_fd);

  // Nothing we mount may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ChildFail(setup, "make / rprivate");
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    ChildFail(setup, "mount /proc");
  }
  // A private /run: /run/containerd, /run/docker, xtables.lock per VM.
  if (::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) ChildFail(setup, "mount /run");
  // A sysfs of our own net namespace (dockerd reads /sys/class/net), keeping
  // the host's cgroup hierarchies: park them, mount sysfs, move them back.
  if (::mkdir("/run/.cgroup", 0700) == 0 &&
      ::mount("/sys/fs/cgroup", "/run/.cgroup", nullptr, MS_BIND | MS_REC, nullptr) == 0) {
    if (::mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) {
      if (::mount("/run/.cgroup", "/sys/fs/cgroup", nullptr, MS_MOVE, nullptr) != 0) {
        ChildFail(setup, "move cgroup hierarchies");
      }
    } else {
      ::umount2("/run/.cgroup", MNT_DETACH);
    }
    ::rmdir("/run/.cgroup");
  }
  if (!setup.etc_docker.empty() && ::access("/etc/docker", F_OK) == 0) {
    if (::mount(setup.etc_docker.c_str(), "/etc/docker", nullptr, MS_BIND, nullptr) != 0) {
      ChildFail(setup, "bind /etc/docker");
    }
  }
  if (::sethostname(setup.hostname.data(), setup.hostname.size()) != 0) ChildFail(setup, "sethostname");

  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  ::dup2(setup.log_fd, 1);
  ::dup2(setup.log_fd, 2);
  // Every process of the VM inherits it, so slirp4netns sees EOF only once
  // the whole VM is gone.
  if (::fcntl(setup.lifeline_fd, F_SETFD, 0) != 0) ChildFail(setup, "keep the lifeline");
  ::execve(setup.argv[0], setup.argv.data(), setup.envp.data());
  ChildFail(setup, "exec agent");
}


}  // namespace

std::vector<std::string> AgentArgs(const VmSpec& spec, const std::string& agent_socket) {
  std::vector<std::string> args = {
      spec.agent_bin,
      absl::StrCat("--backend=", spec.backend),
      absl::StrCat("--state_dir=", spec.state_dir),
      absl::StrCat("--socket=", agent_socket),
      absl::StrCat("--dockerd=", spec.dockerd_bin),
  };
  if (!spec.probe_dir.empty()) args.push_back(absl::StrCat("--probe_dir=", spec.probe_dir));
  if (!spec.bip.empty()) args.push_back(absl::StrCat("--bip=", spec.bip));
  if (!spec.default_address_pool.empty()) {
    args.push_back(absl::StrCat("--default_address_pool=", spec.default_address_pool));
  }
  if (!spec.cgroup_parent.empty()) args.push_back(absl::StrCat("--cgroup_parent=", spec.cgroup_parent));
  if (!spec.loopback_forward_ports.empty()) {
    args.push_back(absl::StrCat("--loopback_forward=", absl::StrJoin(spec.loopback_forward_ports, ",")));
  }
  if (!spec.insecure_registries.empty()) {
    args.push_back(absl::StrCat("--insecure_registries=", absl::StrJoin(spec.insecure_registries, ",")));
  }
  if (spec.manager_grace > absl::ZeroDuration()) {
    args.push_back(absl::StrCat("--manager_grace=", absl::FormatDuration(spec.manager_grace)));
  }
  return args;
}

std::vector<std::string> SlirpArgs(const std::string& slirp_bin, pid_t pid, int ready_fd, int exit_fd) {
  // Not --disable-host-loopback: the guest reaches the host's 127.0.0.1 at
  // 10.0.2.2, which is how its dockerd pulls from a registry on loopback.
  return {slirp_bin,           "--configure", "--mtu=65520", absl::StrCat("--ready-fd=", ready_fd),
          absl::StrCat("--exit-fd=", exit_fd), absl::StrCat(pid),   "tap0"};
}

std::string VmMemoryCgroup(const std::string& cgroup_parent, const std::string& cgroup_root) {
  const std::string parent(absl::StripPrefix(cgroup_parent, "/"));
  if (parent.empty() || parent.find("..") != std::string::npos) return "";
  std::error_code ec;
  // cgroup v2: one hierarchy; v1: the memory controller's.
  if (fs::exists(fs::path(cgroup_root) / "cgroup.controllers", ec)) return (fs::path(cgroup_root) / parent).string();
  if (fs::is_directory(fs::path(cgroup_root) / "memory", ec)) return (fs::path(cgroup_root) / "memory" / parent).string();
  return "";
}

std::vector<std::string> CgroupDirsToRemove(const std::string& cgroup_root, const std::string& cgroup_parent) {
  std::vector<std::string> out;
  absl::string_view parent = absl::StripPrefix(cgroup_parent, "/");
  if (parent.empty() || parent.find("..") != absl::string_view::npos) return out;
  std::error_code ec;
  for (const auto& hierarchy : fs::directory_iterator(cgroup_root, ec)) {
    fs::path top = hierarchy.path() / std::string(parent);
    if (!fs::is_directory(top, ec)) continue;
    std::vector<std::string> dirs;
    for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path().string());
    }
    // Deeper paths are longer: reverse-sorting puts children before parents.
    std::sort(dirs.rbegin(), dirs.rend());
    out.insert(out.end(), dirs.begin(), dirs.end());
    out.push_back(top.string());
  }
  return out;
}

SandboxDriver::SandboxDriver(std::string slirp_bin) : slirp_bin_(std::move(slirp_bin)) {}

SandboxDriver::~SandboxDriver() {
  if (agent_.pid > 0 || slirp_.pid > 0) (void)Stop(absl::Seconds(5));
}

std::string SandboxDriver::AgentEndpoint() const { return (fs::path(spec_.state_dir) / "agent.sock").string(); }

std::string SandboxDriver::TunnelEndpoint() const { return (fs::path(spec_.state_dir) / "tunnel.sock").string(); }

SandboxDriver::Expected SandboxDriver::ExpectedBeforeBoot(const VmSpec& spec) const {
  // What the agent will report, proven the way it proves it.
  agent::Capabilities caps = agent::ProbeCapabilities(spec.probe_dir);
  return {caps.kernel_arch, caps.probes};
}

std::string SandboxDriver::HandoffEndpoint() const { return (fs::path(spec_.state_dir) / "handoff.sock").string(); }

std::string SandboxDriver::RecordPath() const { return (fs::path(spec_.state_dir) / "vm.json").string(); }

// The agent's default lease socket (guest-agent/main.cc).
std::string SandboxDriver::LeaseEndpoint() const { return (fs::path(spec_.state_dir) / "manager.sock").string(); }

absl::Status SandboxDriver::Boot(const VmSpec& spec) {
  if (agent_.pid > 0) return absl::FailedPreconditionError("VM already running");
  spec_ = spec;
  exit_reason_.clear();
  std::error_code ec;
  fs::create_directories(spec.state_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", spec.state_dir, ": ", ec.message()));
  fs::permissions(spec.state_dir, fs::perms::owner_all, ec);
  std::string etc_docker = (fs::path(spec.state_dir) / "etc-docker").string();
  fs::create_directories(etc_docker, ec);
  std::string agent_socket = AgentEndpoint();
  ::unlink(agent_socket.c_str());
  ::unlink(TunnelEndpoint().c_str());
  ::unlink(HandoffEndpoint().c_str());
  ::unlink(LeaseEndpoint().c_str());
  ::unlink(RecordPath().c_str());

  ChildSetup setup;
  setup.hostname = spec.hostname.empty() ? absl::StrCat("switchyard-", spec.backend) : spec.hostname;
  setup.etc_docker = etc_docker;
  setup.args = AgentArgs(spec, agent_socket);
  for (auto& a : setup.args) setup.argv.push_back(a.data());
  setup.argv.push_back(nullptr);
  static char kPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  static char kHome[] = "HOME=/root";
  setup.envp = {kPath, kHome, nullptr};

  std::string log_path = (fs::path(spec.state_dir) / "agent.log").string();
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return absl::InternalError(Errno(absl::StrCat("open ", log_path)));
  int sync_pipe[2], error_pipe[2], ready_pipe[2], lifeline_pipe[2];
  if (::pipe2(sync_pipe, O_CLOEXEC) != 0 || ::pipe2(error_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(ready_pipe, O_CLOEXEC) != 0 || ::pipe2(lifeline_pipe, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return absl::InternalError(Errno("pipe"));
  }
  setup.sync_fd = sync_pipe[0];
  setup.error_fd = error_pipe[1];
  setup.log_fd = log_fd;
  setup.lifeline_fd = lifeline_pipe[1];
  setup.parent_fds = {sync_pipe[1], error_pipe[0], ready_pipe[0], ready_pipe[1], lifeline_pipe[0]};

  auto close_all = [&] {
    for (int* fd : {&sync_pipe[0], &sync_pipe[1], &error_pipe[0], &error_pipe[1], &ready_pipe[0], &ready_pipe[1],
                    &lifeline_pipe[0], &lifeline_pipe[1], &log_fd}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  };

  constexpr size_t kStackSize = 1 << 20;
  void* stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    close_all();
    return absl::InternalError(Errno("mmap"));
  }
  pid_t pid = ::clone(ChildMain, static_cast<char*>(stack) + kStackSize,
                      CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, &setup);
  int clone_errno = errno;
  ::munmap(stack, kStackSize);  // the child has its own copy of the memory
  if (pid < 0) {
    close_all();
    errno = clone_errno;
    return absl::InternalError(Errno("clone"));
  }
  agent_ = {pid, PidfdOpen(pid), true};
  for (int* fd : {&sync_pipe[0], &error_pipe[1], &lifeline_pipe[1]}) {
    ::close(*fd);
    *fd = -1;
  }

  auto fail = [&](std::string why) {
    agent_.Signal(SIGKILL);
    (void)agent_.WaitEnd(absl::Seconds(5));
    agent_.Release();
    KillSlirp();
    close_all();
    ::unlink(RecordPath().c_str());
    spdlog::error("vmm[{}] sandbox boot failed: {}", spec.backend, why);
    return absl::UnavailableError(why);
  };

  // The VM's network: slirp4netns attaches to the child's net namespace.
  std::string slirp_log = (fs::path(spec.state_dir) / "slirp4netns.log").string();
  int slirp_log_fd = ::open(slirp_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  auto slirp = SpawnDetached(SlirpArgs(slirp_bin_, pid, ready_pipe[1], lifeline_pipe[0]), {ready_pipe[1], lifeline_pipe[0]},
                     slirp_log_fd);
  if (slirp_log_fd >= 0) ::close(slirp_log_fd);
  if (!slirp.ok()) return fail(std::string(slirp.status().message()));
  slirp_ = {*slirp, PidfdOpen(*slirp), true};
  for (int* fd : {&ready_pipe[1], &lifeline_pipe[0]}) {
    ::close(*fd);
    *fd = -1;
  }
  pollfd pfd{ready_pipe[0], POLLIN, 0};
  int n = ::poll(&pfd, 1, static_cast<int>(absl::ToInt64Milliseconds(kSlirpReadyTimeout)));
  char ready = 0;
  if (n <= 0 || ::read(ready_pipe[0], &ready, 1) != 1) {
    return fail(absl::StrCat("slirp4netns did not become ready (see ", slirp_log, ")"));
  }

  // Recorded before the VM runs: a manager that dies from here on leaves a
  // VM its successor can find, never one it would boot a second VM beside.
  VmRecord record;
  record.boot_id = CurrentBootId();
  record.agent_pid = pid;
  record.agent_start = ProcessStartTime(pid).value_or(0);
  record.slirp_pid = slirp_.pid;
  record.slirp_start = ProcessStartTime(slirp_.pid).value_or(0);
  record.agent_args = setup.args;
  if (absl::Status written = WriteVmRecord(RecordPath(), record); !written.ok()) {
    return fail(std::string(written.message()));
  }

  // Release the child and learn whether it reached exec.
  // Before the child runs anything: the whole VM (agent, dockerd, its
  // containers beneath) in one memory cgroup, so its memory on the host is
  // one number (`tools/bench`), and nothing once it is stopped.
  if (std::string cgroup = VmMemoryCgroup(spec.cgroup_parent); !cgroup.empty()) {
    std::error_code ec;
    fs::create_directories(cgroup, ec);
    std::ofstream procs(fs::path(cgroup) / "cgroup.procs");
    procs << pid << "\n";
    procs.flush();
    if (ec || !procs.good()) spdlog::warn("vmm[{}] cannot put the VM in cgroup {}", spec.backend, cgroup);
  }
  if (::write(sync_pipe[1], "1", 1) != 1) return fail(Errno("release child"));
  char buf[512];
  std::string child_error;
  ssize_t r;
  while ((r = ::read(error_pipe[0], buf, sizeof(buf))) > 0) child_error.append(buf, r);
  if (!child_error.empty()) return fail(absl::StrCat("sandbox setup failed: ", child_error));
  close_all();
  spdlog::info("vmm[{}] sandbox VM booted: agent pid {}, slirp4netns pid {}, state {}", spec.backend, pid,
               slirp_.pid, spec.state_dir);
  return absl::OkStatus();
}

bool SandboxDriver::Adopt(const VmSpec& spec) {
  if (agent_.pid > 0) return false;
  spec_ = spec;
  exit_reason_.clear();
  absl::StatusOr<VmRecord> record = ReadVmRecord(RecordPath());
  if (!record.ok()) {
    if (!absl::IsNotFound(record.status())) {
      spdlog::warn("vmm[{}] {}: not adopting", spec.backend, std::string(record.status().message()));
    }
    ::unlink(RecordPath().c_str());
    return false;
  }
  // Open the pidfds first, then check the start times: a pid reused after
  // the check could otherwise be taken for ours.
  auto take = [](pid_t pid, uint64_t start) -> HostProcess {
    if (pid <= 0) return {};
    HostProcess p{pid, PidfdOpen(pid), false};
    if (p.pidfd < 0 || !IsSameProcess(pid, start)) p.Release();
    return p;
  };
  if (record->boot_id != CurrentBootId()) {
    // The host rebooted since: that VM is gone, and its pids and start times
    // may now name other processes.
    spdlog::info("vmm[{}] the recorded VM ran before the host rebooted: booting afresh", spec.backend);
    (void)Stop(absl::Seconds(10));
    return false;
  }
  agent_ = take(record->agent_pid, record->agent_start);
  slirp_ = take(record->slirp_pid, record->slirp_start);
  const bool same_spec = record->agent_args == AgentArgs(spec, AgentEndpoint());
  if (agent_.pid > 0 && slirp_.pid > 0 && same_spec) {
    // An agent whose lease ran out no longer listens: it is shutting down.
    // (One that has not started listening yet is rebooted too: rare, and safe.)
    HoldLease();
    if (lease_fd_ >= 0) {
      spdlog::info("vmm[{}] adopted the running sandbox VM: agent pid {}, slirp4netns pid {}", spec.backend,
                   agent_.pid, slirp_.pid);
      return true;
    }
  }
  if (agent_.pid > 0 || slirp_.pid > 0) {
    const char* why = !same_spec             ? "was booted with another configuration"
                      : slirp_.pid <= 0      ? "has lost its network"
                      : agent_.pid <= 0      ? "has lost its agent"
                                             : "does not take the lease (shutting down, or not yet up)";
    spdlog::warn("vmm[{}] the VM left running (agent pid {}) {}: stopping it", spec.backend, record->agent_pid, why);
  }
  (void)Stop(absl::Seconds(10));
  return false;
}

void SandboxDriver::HoldLease() {
  if (lease_fd_ >= 0) return;
  // The agent listens a moment after it starts: retried on every IsRunning.
  absl::StatusOr<int> fd = tunnel::ConnectUnix(LeaseEndpoint());
  if (fd.ok()) lease_fd_ = *fd;
}

bool SandboxDriver::IsRunning() {
  if (agent_.pid <= 0) return false;
  std::optional<std::string> ended = agent_.WaitEnd(absl::ZeroDuration());
  if (!ended.has_value()) {
    HoldLease();
    return true;
  }
  exit_reason_ = absl::StrCat("agent (guest PID 1) ", *ended);
  spdlog::warn("vmm[{}] sandbox VM ended: {}", spec_.backend, exit_reason_);
  agent_.Release();
  // Stop() cleans up the network and cgroups the VM left.
  return false;
}

absl::Status SandboxDriver::Stop(absl::Duration grace) {
  if (agent_.pid > 0) {
    agent_.Signal(SIGTERM);
    std::optional<std::string> ended = agent_.WaitEnd(grace);
    if (!ended.has_value()) {
      spdlog::warn("vmm[{}] agent did not stop within {}, killing the VM", spec_.backend, absl::FormatDuration(grace));
      agent_.Signal(SIGKILL);
      ended = agent_.WaitEnd(absl::Seconds(10));
    }
    exit_reason_ = ended.has_value() ? absl::StrCat("stopped (agent ", *ended, ")") : "stopped";
    agent_.Release();
  }
  KillSlirp();
  if (lease_fd_ >= 0) ::close(lease_fd_);
  lease_fd_ = -1;
  RemoveCgroups();
  ::unlink(AgentEndpoint().c_str());
  ::unlink(TunnelEndpoint().c_str());
  ::unlink(HandoffEndpoint().c_str());
  ::unlink(LeaseEndpoint().c_str());
  ::unlink(RecordPath().c_str());
  spdlog::info("vmm[{}] sandbox VM stopped", spec_.backend);
  return absl::OkStatus();
}

void SandboxDriver::KillSlirp() {
  if (slirp_.pid <= 0) return;
  // slirp4netns keeps no state worth a graceful stop, and lingers on SIGTERM.
  slirp_.Signal(SIGKILL);
  (void)slirp_.WaitEnd(absl::Seconds(5));
  slirp_.Release();
}

void SandboxDriver::RemoveCgroups() {
  if (spec_.cgroup_parent.empty()) return;
  // Processes of the dead pid namespace may still be exiting: retry briefly.
  absl::Time deadline = absl::Now() + absl::Seconds(3);
  while (true) {
    std::vector<std::string> left;
    for (const auto& dir : CgroupDirsToRemove("/sys/fs/cgroup", spec_.cgroup_parent)) {
      if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) left.push_back(dir);
    }
    if (left.empty()) return;
    if (absl::Now() >= deadline) {
      spdlog::warn("vmm[{}] could not remove cgroups: {}", spec_.backend, absl::StrJoin(left, " "));
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace switchyard::vmm
