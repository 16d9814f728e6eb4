// switchyard-scheduler: every placement decision, behind switchyard.scheduler.v1.
#include <spdlog/spdlog.h>
#include <sys/utsname.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "libs/placement/platform_policy.h"
#include "libs/rpc/unix_server.h"
#include "services/scheduler/scheduler_core.h"
#include "services/scheduler/scheduler_service.h"

ABSL_FLAG(std::string, run_dir, "/run/switchyard", "private run directory holding every service socket");
ABSL_FLAG(std::string, native_arch, "", "the host's arch (amd64, arm64); empty: this machine's");

namespace {

std::string MachineArch() {
  struct utsname u {};
  ::uname(&u);
  return u.machine;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Blocked before any thread starts, so that only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const std::string run_dir = absl::GetFlag(FLAGS_run_dir);
  std::string native = absl::GetFlag(FLAGS_native_arch);
  if (native.empty()) native = MachineArch();

  std::vector<std::unique_ptr<switchyard::scheduler::BackendClient>> backends;
  for (const char* name : {"hv", "vz"}) {
    backends.push_back(switchyard::scheduler::NewVmmBackendClient(name, absl::StrCat(run_dir, "/vmm-", name, ".sock")));
  }
  switchyard::scheduler::SchedulerCore core(std::move(backends),
                                            std::make_unique<switchyard::placement::PlatformPolicy>(native));
  switchyard::scheduler::SchedulerService service(core);
  auto server = switchyard::rpc::StartUnixServer(absl::StrCat(run_dir, "/scheduler.sock"), {&service});
  if (!server.ok()) {
    spdlog::error("scheduler: {}", server.status().ToString());
    return 1;
  }
  spdlog::info("scheduler serving on {}/scheduler.sock (native arch {})", run_dir, native);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("scheduler stopping on signal {}", sig);
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
