// switchyard-scheduler: every placement decision, behind switchyard.scheduler.v1.
#include <spdlog/spdlog.h>
#include <sys/utsname.h>

#include <atomic>
#include <csignal>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/placement/platform.h"
#include "libs/registry/sqlite_store.h"
#include "libs/registry_client/http_manifest_reader.h"
#include "libs/rpc/unix_server.h"
#include "services/scheduler/buildkit/control_proxy.h"
#include "services/scheduler/scheduler_core.h"
#include "services/scheduler/scheduler_service.h"

ABSL_FLAG(std::string, run_dir, "/run/switchyard", "private run directory holding every service socket");
ABSL_FLAG(std::string, native_arch, "", "the host's arch (amd64, arm64); empty: this machine's");
ABSL_FLAG(std::string, db, "/var/lib/switchyard/scheduler.db", "the registry (SQLite): groups, workloads, placements");
ABSL_FLAG(bool, translators_vz_enabled, true, "run foreign-arch workloads on vz through its translator");
ABSL_FLAG(bool, translators_hv_fallback, false, "when vz cannot translate, use hv's fallback translator");
ABSL_FLAG(bool, experimental_mixed_groups, false, "allow a Compose project or pod to span both backends");
ABSL_FLAG(int, reconcile_seconds, 10, "how often the registry is reconciled with the guests");

namespace {

namespace rc = switchyard::registry_client;

std::string MachineArch() {
  struct utsname u {};
  ::uname(&u);
  return u.machine;
}

// Archs of an image in its registry, for placement when no guest has it.
switchyard::scheduler::ImagePlatforms::RegistryLookup RegistryLookup() {
  auto reader = std::make_shared<rc::HttpManifestReader>();
  return [reader](const std::string& image) -> absl::StatusOr<std::vector<std::string>> {
    absl::StatusOr<rc::ImageReference> ref = rc::ParseReference(image);
    if (!ref.ok()) return ref.status();
    absl::StatusOr<std::vector<rc::Platform>> platforms = reader->Platforms(*ref);
    if (!platforms.ok()) return platforms.status();
    std::vector<std::string> archs;
    for (const auto& p : *platforms) {
      if (p.os == "linux") archs.push_back(p.architecture);
    }
    return archs;
  };
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
  auto store = switchyard::registry::SqliteStore::Open(absl::GetFlag(FLAGS_db));
  if (!store.ok()) {
    spdlog::error("scheduler: registry {}: {}", absl::GetFlag(FLAGS_db), store.status().ToString());
    return 1;
  }
  switchyard::scheduler::PlacerSettings settings;
  settings.routing.native_arch = switchyard::placement::NormalizeArch(native);
  settings.routing.vz_translation_enabled = absl::GetFlag(FLAGS_translators_vz_enabled);
  settings.routing.hv_fallback_enabled = absl::GetFlag(FLAGS_translators_hv_fallback);
  settings.allow_mixed_groups = absl::GetFlag(FLAGS_experimental_mixed_groups);
  switchyard::scheduler::SchedulerCore core(std::move(backends), settings, RegistryLookup(), store->get());
  switchyard::scheduler::buildkit::ControlProxy buildkit(core);
  switchyard::scheduler::SchedulerService service(core, buildkit);
  auto server = switchyard::rpc::StartUnixServer(absl::StrCat(run_dir, "/scheduler.sock"), {&service});
  if (!server.ok()) {
    spdlog::error("scheduler: {}", server.status().ToString());
    return 1;
  }
  spdlog::info("scheduler serving on {}/scheduler.sock (native arch {})", run_dir, native);

  // The guests are the truth: adopt what was created or removed behind our
  // back, at start and then periodically (containers run with --rm vanish
  // without a call through us).
  std::atomic<bool> stopping{false};
  std::thread reconciler([&] {
    const absl::Duration every = absl::Seconds(absl::GetFlag(FLAGS_reconcile_seconds));
    while (!stopping) {
      absl::Status reconciled = core.Reconcile();
      if (!reconciled.ok()) spdlog::warn("reconcile: {}", reconciled.ToString());
      for (absl::Time until = absl::Now() + every; !stopping && absl::Now() < until;) {
        absl::SleepFor(absl::Milliseconds(200));
      }
    }
  });

  // Host listeners follow what each guest publishes.
  core.ports().Run();

  int sig = 0;
  sigwait(&signals, &sig);
  stopping = true;
  core.ports().Shutdown();
  reconciler.join();
  spdlog::info("scheduler stopping on signal {}", sig);
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
