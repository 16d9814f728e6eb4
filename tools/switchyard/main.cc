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
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/rpc/unix_channel.h"
#include "switchyard/scheduler/v1/scheduler.grpc.pb.h"
#include "tools/switchyard/service_set.h"

ABSL_FLAG(std::string, run_dir, "/run/switchyard", "private run directory: sockets and pid files");
ABSL_FLAG(std::string, state_dir, "/var/lib/switchyard", "VM state and logs");
ABSL_FLAG(std::string, loopback_forward, "", "host loopback TCP ports the guests reach on their own 127.0.0.1 (e.g. a local registry)");
ABSL_FLAG(std::string, socket_group, "", "group owning the Docker socket");
ABSL_FLAG(std::string, native_arch, "", "the host arch for placement; empty: this machine's");
ABSL_FLAG(std::string, instance, "switchyard", "name of this service set on the host (cgroup parents <instance>-hv, <instance>-vz)");
ABSL_FLAG(bool, translators_vz_enabled, true, "run foreign-arch workloads on vz through its translator");
ABSL_FLAG(bool, translators_hv_fallback, false, "when vz cannot translate, run foreign-arch workloads on hv's fallback translator");
ABSL_FLAG(bool, experimental_mixed_groups, false, "allow a Compose project or pod to span both backends");
ABSL_FLAG(int, timeout, 180, "seconds `up` waits for the service set");
ABSL_FLAG(bool, context, true, "create/update the docker context `switchyard`");

namespace {

using switchyard::cli::ServiceSetConfig;

std::string SelfDir() {
  char path[PATH_MAX] = {};
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  std::string exe(path, n > 0 ? n : 0);
  return exe.substr(0, exe.rfind('/'));
}

ServiceSetConfig Config() {
  ServiceSetConfig c{absl::GetFlag(FLAGS_run_dir),       absl::GetFlag(FLAGS_state_dir), SelfDir(),
                     absl::GetFlag(FLAGS_loopback_forward), absl::GetFlag(FLAGS_socket_group),
                     absl::GetFlag(FLAGS_native_arch), absl::GetFlag(FLAGS_instance)};
  c.translators_vz_enabled = absl::GetFlag(FLAGS_translators_vz_enabled);
  c.translators_hv_fallback = absl::GetFlag(FLAGS_translators_hv_fallback);
  c.experimental_mixed_groups = absl::GetFlag(FLAGS_experimental_mixed_groups);
  return c;
}

pid_t ReadPid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

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
      absl::StrAppend(&line, " arch=", b.kernel_arch(), " translators=",
                      b.translators().empty() ? "none" : absl::StrJoin(b.translators(), ","),
                      " engine=", b.engine_version(), " containers=", b.containers());
    }
    if (!b.error().empty()) absl::StrAppend(&line, " error: ", b.error());
    all_ok = all_ok && b.state() == "running";
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

int Up(const ServiceSetConfig& config) {
  ::mkdir(config.run_dir.c_str(), 0700);
  ::chmod(config.run_dir.c_str(), 0700);
  ::mkdir(config.state_dir.c_str(), 0700);
  ::mkdir(absl::StrCat(config.state_dir, "/vms").c_str(), 0700);
  ::mkdir(absl::StrCat(config.state_dir, "/logs").c_str(), 0700);
  const std::string pid_path = absl::StrCat(config.run_dir, "/supervisor.pid");
  const std::string socket_path = absl::StrCat(config.run_dir, "/docker.sock");
  if (!Alive(ReadPid(pid_path))) {
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
          settled = settled && (b.state() == "running" || b.state() == "failed");
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
  if (!Alive(pid)) {
    std::cout << "switchyard is not running\n";
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

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("switchyard up|down|status [flags]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::cerr << "usage: switchyard up|down|status [--run_dir=…] [--state_dir=…]\n";
    return 2;
  }
  const std::string command = args[1];
  const ServiceSetConfig config = Config();
  if (command == "up") return Up(config);
  if (command == "down") return Down(config);
  if (command == "status") return Status(config);
  std::cerr << "switchyard: unknown command \"" << command << "\"\n";
  return 2;
}
