#include "tools/switchyard/service_set.h"

#include "guest-agent/capabilities.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace switchyard::cli {
namespace {

struct Running {
  pid_t pid = 0;
  std::chrono::steady_clock::time_point started;
  int failures = 0;
  std::chrono::steady_clock::time_point restart_at;
};

volatile sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }

pid_t Spawn(const ServiceSpec& spec, const std::string& log_path) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log >= 0) {
    ::dup2(log, 1);
    ::dup2(log, 2);
  }
  int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) ::dup2(null, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  _exit(127);
}

void WritePid(const std::string& path, pid_t pid) {
  std::ofstream(path) << pid << "\n";
}

// The qemu-user handlers a guest of the native arch ("" is this
// machine's) registers for the archs it cannot run itself.
std::string GuestTranslators(const std::string& native_arch) {
  if (native_arch == "arm64") return agent::ForeignQemuTranslators("aarch64");
  if (native_arch == "amd64") return agent::ForeignQemuTranslators("x86_64");
  return agent::ForeignQemuTranslators();
}

}  // namespace

std::vector<ServiceSpec> ServiceSpecs(const ServiceSetConfig& c) {
  std::vector<ServiceSpec> specs;
  // Disjoint address pools (checked by config::Validate), so container
  // subnets never overlap across VMs.
  for (const auto& [name, vm] : {std::pair<std::string, const config::BackendConfig&>{"hv", c.hv}, {"vz", c.vz}}) {
    specs.push_back({absl::StrCat("vmm-", name),
                     {absl::StrCat(c.bin_dir, "/switchyard-vmm"), absl::StrCat("--backend=", name),
                      absl::StrCat("--driver=", vm.driver), absl::StrCat("--run_dir=", c.run_dir),
                      absl::StrCat("--state_dir=", c.state_dir, "/vms/", name),
                      absl::StrCat("--agent_bin=", c.bin_dir, "/switchyard-agent"),
                      absl::StrCat("--bip=", vm.bip), absl::StrCat("--default_address_pool=", vm.address_pool),
                      absl::StrCat("--cgroup_parent=/", c.instance, "-", name),
                      absl::StrCat("--loopback_forward=", c.loopback_forward),
                      absl::StrCat("--probe_dir=", c.probe_dir.empty() ? agent::kDefaultProbeDir : c.probe_dir),
                      absl::StrCat("--start=", vm.start),
                      absl::StrCat("--idle_stop=", vm.idle_stop_seconds, "s"),
                      absl::StrCat("--memory_mib=", vm.memory_mib), absl::StrCat("--cpus=", vm.cpus),
                      absl::StrCat("--disk_gib=", vm.disk_gib),
                      absl::StrCat("--guest_image=", c.guest.image),
                      // A VM with its own kernel runs the native arch: on an
                      // x86-64 machine, native_arch arm64 boots a Mac's guests.
                      absl::StrCat("--guest_arch=", c.native_arch),
                      absl::StrCat("--accelerator=", c.guest.accelerator),
                      absl::StrCat("--guest_boot=", c.guest.boot),
                      absl::StrCat("--shares=", absl::StrJoin(c.guest.shares, ",")),
                      // A guest with its own kernel registers the translator
                      // only where the routing settings send foreign work.
                      absl::StrCat("--translators=",
                                   (name == "vz" ? c.translators_vz_enabled : c.translators_hv_fallback)
                                       ? GuestTranslators(c.native_arch)
                                       : std::string())},
                     40});
  }
  specs.push_back({"scheduler",
                   {absl::StrCat(c.bin_dir, "/switchyard-scheduler"), absl::StrCat("--run_dir=", c.run_dir),
                    absl::StrCat("--native_arch=", c.native_arch),
                    absl::StrCat("--db=", c.state_dir, "/scheduler.db"),
                    absl::StrCat("--translators_vz_enabled=", c.translators_vz_enabled ? "true" : "false"),
                    absl::StrCat("--translators_hv_fallback=", c.translators_hv_fallback ? "true" : "false"),
                    absl::StrCat("--experimental_mixed_groups=", c.experimental_mixed_groups ? "true" : "false")},
                   5});
  specs.push_back({"gateway",
                   {absl::StrCat(c.bin_dir, "/switchyard-gateway"), absl::StrCat("--run_dir=", c.run_dir),
                    absl::StrCat("--socket_group=", c.socket_group)},
                   5});
  return specs;
}

int Supervise(const ServiceSetConfig& config) {
  const std::vector<ServiceSpec> specs = ServiceSpecs(config);
  const std::string log_dir = absl::StrCat(config.state_dir, "/logs");
  ::mkdir(log_dir.c_str(), 0700);
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);

  std::map<std::string, Running> running;
  auto start = [&](const ServiceSpec& spec) {
    Running& r = running[spec.name];
    r.pid = Spawn(spec, absl::StrCat(log_dir, "/", spec.name, ".log"));
    r.started = std::chrono::steady_clock::now();
    WritePid(absl::StrCat(config.run_dir, "/", spec.name, ".pid"), r.pid);
    spdlog::info("service={} started pid={}", spec.name, r.pid);
  };
  for (const auto& spec : specs) start(spec);

  while (!g_stop) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    auto now = std::chrono::steady_clock::now();
    if (pid > 0) {
      for (const auto& spec : specs) {
        Running& r = running[spec.name];
        if (r.pid != pid) continue;
        r.pid = 0;
        // A service that ran a while was healthy: restart it at once.
        r.failures = (now - r.started > std::chrono::seconds(30)) ? 0 : r.failures + 1;
        auto delay = std::chrono::milliseconds(std::min(10000, 250 << std::min(r.failures, 6)));
        r.restart_at = now + delay;
        spdlog::warn("service={} exited (status {}); restarting in {} ms", spec.name, status, delay.count());
      }
      continue;
    }
    for (const auto& spec : specs) {
      Running& r = running[spec.name];
      if (r.pid == 0 && now >= r.restart_at) start(spec);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  // Stop in reverse order: clients before the VMs they talk to.
  for (auto it = specs.rbegin(); it != specs.rend(); ++it) {
    Running& r = running[it->name];
    if (r.pid <= 0) continue;
    ::kill(r.pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(it->stop_timeout_seconds);
    int status = 0;
    while (::waitpid(r.pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        spdlog::warn("service={} did not stop in {} s; killing", it->name, it->stop_timeout_seconds);
        ::kill(r.pid, SIGKILL);
        ::waitpid(r.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::unlink(absl::StrCat(config.run_dir, "/", it->name, ".pid").c_str());
    spdlog::info("service={} stopped", it->name);
  }
  return 0;
}

}  // namespace switchyard::cli
