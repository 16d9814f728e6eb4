// switchyard: starts, stops and shows the service set.
//   switchyard up | down | status
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "libs/config/config.h"
#include "libs/run_dir/run_dir.h"
#include "libs/rpc/unix_channel.h"
#include "switchyard/scheduler/v1/scheduler.grpc.pb.h"
#include "tools/switchyard/service_set.h"

ABSL_FLAG(std::string, run_dir, "/run/switchyard", "private run directory: sockets and pid files");
ABSL_FLAG(std::string, state_dir, "/var/lib/switchyard", "VM state and logs");
ABSL_FLAG(std::string, probe_dir, "",
          "directory of busybox-<arch> binaries that prove each translator at boot (default: the installed ones)");
ABSL_FLAG(std::string, loopback_forward, "", "host loopback TCP ports the guests reach on their own 127.0.0.1 (e.g. a local registry)");
ABSL_FLAG(std::string, socket_group, "", "group owning the Docker socket");
ABSL_FLAG(std::string, native_arch, "", "the host arch for placement, and qemu guests' arch; empty: this machine's");
ABSL_FLAG(std::string, instance, "switchyard", "name of this service set on the host (cgroup parents <instance>-hv, <instance>-vz)");
ABSL_FLAG(bool, translators_vz_enabled, true, "run foreign-arch workloads on vz through its translator");
ABSL_FLAG(std::string, vz_start, "on-demand", "when vz boots: eager (at up) or on-demand (when a workload needs it)");
ABSL_FLAG(int, vz_idle_stop_seconds, 300, "stop vz after this many idle seconds (0: never)");
ABSL_FLAG(bool, translators_hv_fallback, false, "when vz cannot translate, run foreign-arch workloads on hv's fallback translator");
ABSL_FLAG(std::string, driver, "sandbox",
          "VM driver of both VMs: sandbox (namespaces on the host's kernel) or qemu (real VMs from the guest image)");
ABSL_FLAG(std::string, accelerator, "", "qemu's accelerator: kvm, hvf or tcg; empty chooses what works here");
ABSL_FLAG(std::string, guest_boot, "", "qemu: kernel (default) or efi (the image's EFI disk, as krunkit boots)");
ABSL_FLAG(std::string, guest_image, "", "the guest image directory (tools/guest-image/build); empty: its default");
ABSL_FLAG(bool, experimental_mixed_groups, false, "allow a Compose project or pod to span both backends");
ABSL_FLAG(std::string, config, "",
          "the config file (deploy/switchyard.json documents every key); default /etc/switchyard/switchyard.json "
          "when it exists. Flags given on the command line override it.");
ABSL_FLAG(int, timeout, 180, "seconds `up` waits for the service set");
ABSL_FLAG(bool, context, true, "create/update the docker context `switchyard`");

namespace {

using switchyard::cli::ServiceSetConfig;
namespace fs = std::filesystem;

std::string SelfDir() {
  char path[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  std::string exe(path, n > 0 ? n : 0);
  return exe.substr(0, exe.rfind('/'));
}

// The command line as given, to tell flags set there from their defaults.
std::vector<std::string> g_argv;

bool Given(absl::string_view flag) {
  for (const std::string& arg : g_argv) {
    for (absl::string_view dashes : {"--", "-"}) {
      const std::string name = absl::StrCat(dashes, flag);
      if (arg == name || absl::StartsWith(arg, name + "=") || arg == absl::StrCat(dashes, "no", flag)) return true;
    }
  }
  return false;
}

// Defaults, then the config file, then flags given on the command line.
absl::StatusOr<ServiceSetConfig> Config() {
  std::string path = absl::GetFlag(FLAGS_config);
  const bool explicit_path = !path.empty();
  if (!explicit_path) path = "/etc/switchyard/switchyard.json";
  switchyard::config::Config file;
  absl::StatusOr<switchyard::config::Config> loaded = switchyard::config::LoadConfig(path);
  if (loaded.ok()) {
    file = *loaded;
  } else if (explicit_path || !absl::IsNotFound(loaded.status())) {
    return loaded.status();
  }
  auto pick = [](absl::string_view flag, auto from_flag, auto from_file) { return Given(flag) ? from_flag : from_file; };
  file.run_dir = pick("run_dir", absl::GetFlag(FLAGS_run_dir), file.run_dir);
  file.state_dir = pick("state_dir", absl::GetFlag(FLAGS_state_dir), file.state_dir);
  file.socket_group = pick("socket_group", absl::GetFlag(FLAGS_socket_group), file.socket_group);
  file.native_arch = pick("native_arch", absl::GetFlag(FLAGS_native_arch), file.native_arch);
  file.instance = pick("instance", absl::GetFlag(FLAGS_instance), file.instance);
  file.translators_vz_enabled =
      pick("translators_vz_enabled", absl::GetFlag(FLAGS_translators_vz_enabled), file.translators_vz_enabled);
  file.translators_hv_fallback =
      pick("translators_hv_fallback", absl::GetFlag(FLAGS_translators_hv_fallback), file.translators_hv_fallback);
  file.experimental_mixed_groups = pick("experimental_mixed_groups", absl::GetFlag(FLAGS_experimental_mixed_groups),
                                        file.experimental_mixed_groups);
  file.vz.start = pick("vz_start", absl::GetFlag(FLAGS_vz_start), file.vz.start);
  file.vz.idle_stop_seconds = pick("vz_idle_stop_seconds", absl::GetFlag(FLAGS_vz_idle_stop_seconds),
                                   file.vz.idle_stop_seconds);
  file.hv.driver = pick("driver", absl::GetFlag(FLAGS_driver), file.hv.driver);
  file.vz.driver = pick("driver", absl::GetFlag(FLAGS_driver), file.vz.driver);
  file.guest.accelerator = pick("accelerator", absl::GetFlag(FLAGS_accelerator), file.guest.accelerator);
  file.guest.image = pick("guest_image", absl::GetFlag(FLAGS_guest_image), file.guest.image);
  file.guest.boot = pick("guest_boot", absl::GetFlag(FLAGS_guest_boot), file.guest.boot);
  const std::string origin = loaded.ok() ? absl::StrCat(path, " and flags") : "flags";
  if (absl::Status valid = switchyard::config::Validate(file, origin); !valid.ok()) return valid;

  ServiceSetConfig c{file.run_dir,  file.state_dir,   SelfDir(),   absl::GetFlag(FLAGS_loopback_forward),
                     file.socket_group, file.native_arch, file.instance};
  c.translators_vz_enabled = file.translators_vz_enabled;
  c.translators_hv_fallback = file.translators_hv_fallback;
  c.experimental_mixed_groups = file.experimental_mixed_groups;
  c.hv = file.hv;
  c.vz = file.vz;
  c.guest = file.guest;
  c.probe_dir = absl::GetFlag(FLAGS_probe_dir);
  return c;
}

pid_t ReadPid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

// Running, not merely a zombie its new parent has not reaped yet (a killed
// supervisor, and the services it left, are reparented).
bool Alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren == std::string::npos || line.compare(paren, 3, ") Z") != 0;
}

// True when the gateway answers GET /_ping with 200.
bool PingGateway(const std::string& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char request[] = "GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n";
    if (::write(fd, request, sizeof(request) - 1) > 0) {
      char buf[64] = {};
      ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
      ok = n > 12 && std::string(buf, n).find(" 200 ") != std::string::npos;
    }
  }
  ::close(fd);
  return ok;
}

absl::StatusOr<switchyard::scheduler::v1::GetStatusResponse> SchedulerStatus(const std::string& run_dir) {
  auto stub = switchyard::scheduler::v1::Scheduler::NewStub(
      switchyard::rpc::UnixChannel(absl::StrCat(run_dir, "/scheduler.sock")));
  grpc::ClientContext context;
  switchyard::rpc::SetTimeout(context, absl::Seconds(5));
  switchyard::scheduler::v1::GetStatusResponse response;
  grpc::Status status = stub->GetStatus(&context, {}, &response);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return response;
}

int Status(const ServiceSetConfig& config) {
  pid_t supervisor = ReadPid(absl::StrCat(config.run_dir, "/supervisor.pid"));
  std::cout << "supervisor  " << (Alive(supervisor) ? absl::StrCat("running (pid ", supervisor, ")") : "stopped")
            << "\n";
  bool all_ok = Alive(supervisor);
  for (const auto& spec : switchyard::cli::ServiceSpecs(config)) {
    pid_t pid = ReadPid(absl::StrCat(config.run_dir, "/", spec.name, ".pid"));
    bool alive = Alive(pid);
    all_ok = all_ok && alive;
    std::printf("%-11s %s\n", spec.name.c_str(), alive ? absl::StrCat("running (pid ", pid, ")").c_str() : "stopped");
  }
  auto status = SchedulerStatus(config.run_dir);
  if (!status.ok()) {
    std::cout << "VMs         unknown: scheduler unreachable: " << status.status().message() << "\n";
    return 1;
  }
  for (const auto& b : status->backends()) {
    std::string line = absl::StrCat("vm ", b.backend(), "       ", b.state());
    if (b.state() == "running") {
      if (b.driver() != "sandbox") absl::StrAppend(&line, " driver=", b.driver(), " accelerator=", b.accelerator());
      absl::StrAppend(&line, " arch=", b.kernel_arch(), " translators=",
                      b.translators().empty() ? "none" : absl::StrJoin(b.translators(), ","),
                      " engine=", b.engine_version(), " containers=", b.containers());
    }
    if (b.state() == "asleep") absl::StrAppend(&line, " containers=", b.containers());
    if (!b.error().empty()) absl::StrAppend(&line, " error: ", b.error());
    if (!b.last_stop().empty()) absl::StrAppend(&line, " (last stop: ", b.last_stop(), ")");
    // A sleeping VM is as it should be: it wakes when a workload needs it.
    all_ok = all_ok && (b.state() == "running" || b.state() == "asleep");
    std::cout << line << "\n";
  }
  std::cout << "docker      " << (PingGateway(absl::StrCat(config.run_dir, "/docker.sock")) ? "answering" : "not answering")
            << " at unix://" << config.run_dir << "/docker.sock\n";
  return all_ok ? 0 : 1;
}

void MakeDockerContext(const std::string& socket_path) {
  const std::string host = absl::StrCat("host=unix://", socket_path);
  std::string cmd = absl::StrCat("docker context inspect switchyard >/dev/null 2>&1 && docker context update switchyard --docker ",
                                 host, " >/dev/null || docker context create switchyard --docker ", host, " >/dev/null");
  if (std::system(cmd.c_str()) != 0) std::cerr << "switchyard: could not create the docker context\n";
}

// True when `pid` is alive and runs a program named as `binary` is (a
// recycled pid runs something else). By name: an upgraded binary's old
// process shows "<path> (deleted)".
bool Runs(pid_t pid, const std::string& binary) {
  if (!Alive(pid)) return false;
  std::error_code ec;
  std::string exe = fs::read_symlink(absl::StrCat("/proc/", pid, "/exe"), ec).string();
  if (ec) return false;
  if (absl::EndsWith(exe, " (deleted)")) exe.resize(exe.size() - std::string(" (deleted)").size());
  return fs::path(exe).filename() == fs::path(binary).filename();
}

// A supervisor that was killed leaves its services running, and the VM
// managers their VMs: stop them as the supervisor would have, clients first.
// Returns how many it stopped.
int StopOrphanedServices(const ServiceSetConfig& config) {
  const std::vector<switchyard::cli::ServiceSpec> specs = switchyard::cli::ServiceSpecs(config);
  // This set's service, not another set's nor a process that took its pid.
  auto ours = [&](pid_t pid, const std::string& binary) {
    if (!Runs(pid, binary)) return false;
    std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"));
    std::string arg;
    while (std::getline(in, arg, '\0')) {
      if (arg == absl::StrCat("--run_dir=", config.run_dir)) return true;
    }
    return false;
  };
  int stopped = 0;
  for (auto it = specs.rbegin(); it != specs.rend(); ++it) {
    const std::string pid_path = absl::StrCat(config.run_dir, "/", it->name, ".pid");
    pid_t pid = ReadPid(pid_path);
    if (!ours(pid, it->argv[0])) continue;
    ::kill(pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(it->stop_timeout_seconds);
    while (ours(pid, it->argv[0]) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (ours(pid, it->argv[0])) ::kill(pid, SIGKILL);
    ::unlink(pid_path.c_str());
    std::cout << "stopped " << it->name << " (pid " << pid << "), left running by a supervisor that died\n";
    ++stopped;
  }
  return stopped;
}

// The supervisor of a set is this same program.
bool IsSupervisor(pid_t pid) {
  std::error_code ec;
  return Runs(pid, fs::read_symlink("/proc/self/exe", ec).string());
}

int Up(const ServiceSetConfig& config) {
  if (absl::Status prepared = switchyard::run_dir::Prepare(config.run_dir); !prepared.ok()) {
    std::cerr << "switchyard: " << prepared.message() << "\n";
    return 1;
  }
  ::mkdir(config.state_dir.c_str(), 0700);
  ::mkdir(absl::StrCat(config.state_dir, "/vms").c_str(), 0700);
  ::mkdir(absl::StrCat(config.state_dir, "/logs").c_str(), 0700);
  const std::string pid_path = absl::StrCat(config.run_dir, "/supervisor.pid");
  const std::string socket_path = absl::StrCat(config.run_dir, "/docker.sock");
  if (!IsSupervisor(ReadPid(pid_path))) {
    // Services a killed supervisor left would hold the sockets and the VMs.
    StopOrphanedServices(config);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      int log = ::open(absl::StrCat(config.state_dir, "/logs/supervisor.log").c_str(),
                       O_WRONLY | O_CREAT | O_APPEND, 0640);
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      ::dup2(log, 1);
      ::dup2(log, 2);
      std::ofstream(pid_path) << ::getpid() << "\n";
      int rc = switchyard::cli::Supervise(config);
      ::unlink(pid_path.c_str());
      _exit(rc);
    }
  }
  // Ready when the gateway answers and no VM is still booting.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_timeout));
  bool ready = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (PingGateway(socket_path)) {
      auto status = SchedulerStatus(config.run_dir);
      if (status.ok()) {
        bool settled = true;
        for (const auto& b : status->backends()) {
          settled = settled && (b.state() == "running" || b.state() == "failed" || b.state() == "asleep");
        }
        if (settled) {
          ready = true;
          break;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  Status(config);
  if (!ready) {
    std::cerr << "switchyard: the service set is not ready after " << absl::GetFlag(FLAGS_timeout)
              << " s; logs in " << config.state_dir << "/logs\n";
    return 1;
  }
  if (absl::GetFlag(FLAGS_context)) MakeDockerContext(socket_path);
  std::cout << "\nPoint Docker at switchyard:\n  export DOCKER_HOST=unix://" << socket_path
            << "\nor\n  docker context use switchyard\n";
  return 0;  // up succeeded; a failed VM is reported above and in `docker info`
}

int Down(const ServiceSetConfig& config) {
  const std::string pid_path = absl::StrCat(config.run_dir, "/supervisor.pid");
  pid_t pid = ReadPid(pid_path);
  if (!IsSupervisor(pid)) {
    if (StopOrphanedServices(config) == 0) std::cout << "switchyard is not running\n";
    return 0;
  }
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (Alive(pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (Alive(pid)) {
    std::cerr << "switchyard: supervisor " << pid << " did not stop\n";
    return 1;
  }
  ::unlink(absl::StrCat(config.run_dir, "/docker.sock").c_str());
  ::unlink(absl::StrCat(config.run_dir, "/scheduler.sock").c_str());
  std::cout << "switchyard stopped\n";
  return 0;
}

// Runs one service of the set in the foreground, as launchd or systemd
// start it: the same argv as `up`, from the same config. Waits first for the
// sockets of the services it talks to (start ordering on socket readiness,
// which launchd cannot express), then execs.
int Run(const ServiceSetConfig& config, const std::string& service) {
  const std::vector<switchyard::cli::ServiceSpec> specs = switchyard::cli::ServiceSpecs(config);
  auto it = std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == service; });
  if (it == specs.end()) {
    std::vector<std::string> names;
    for (const auto& s : specs) names.push_back(s.name);
    std::cerr << "switchyard: no service \"" << service << "\"; services: " << absl::StrJoin(names, ", ") << "\n";
    return 2;
  }
  if (absl::Status prepared = switchyard::run_dir::Prepare(config.run_dir); !prepared.ok()) {
    std::cerr << "switchyard: " << prepared.message() << "\n";
    return 1;
  }
  std::vector<std::string> needs;
  if (service == "scheduler") needs = {"vmm-hv.sock", "vmm-vz.sock"};
  if (service == "gateway") needs = {"scheduler.sock"};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_timeout));
  for (const std::string& sock : needs) {
    const std::string path = absl::StrCat(config.run_dir, "/", sock);
    struct stat st {};
    while (!(::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode))) {
      if (std::chrono::steady_clock::now() > deadline) {
        // Start anyway: the service reports the missing peer itself.
        std::cerr << "switchyard: " << path << " did not appear; starting " << service << " anyway\n";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::vector<char*> argv;
  for (const std::string& a : it->argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::cerr << "switchyard: cannot run " << it->argv[0] << ": " << std::strerror(errno) << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("switchyard up|down|status [flags]");
  g_argv.assign(argv, argv + argc);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string command = args.size() >= 2 ? args[1] : "";
  if (args.size() != (command == "run" ? 3u : 2u)) {
    std::cerr << "usage: switchyard up|down|status|run SERVICE [--config=…] [--run_dir=…] [--state_dir=…]\n";
    return 2;
  }
  if (command != "up" && command != "down" && command != "status" && command != "run") {
    std::cerr << "switchyard: unknown command \"" << command << "\"\n";
    return 2;
  }
  const absl::StatusOr<ServiceSetConfig> config = Config();
  if (!config.ok()) {
    std::cerr << "switchyard: invalid config: " << config.status().message() << "\n";
    return 2;
  }
  if (command == "up") return Up(*config);
  if (command == "down") return Down(*config);
  if (command == "run") return Run(*config, args[2]);
  return Status(*config);
}
