#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::agent {

// How the guest dockerd is run. Every path lives under the VM's state dir so
// two guests never share anything.
struct DockerdConfig {
  std::string dockerd_bin = "/usr/sbin/dockerd";
  std::string state_dir;
  std::string bip;                   // --bip, e.g. "172.30.0.1/24"
  std::string default_address_pool;  // base of --default-address-pool, e.g. "172.31.0.0/16"
  std::string cgroup_parent;
  std::vector<std::string> insecure_registries;

  std::string DataRoot() const { return state_dir + "/docker"; }
  std::string ExecRoot() const { return state_dir + "/exec"; }
  std::string Socket() const { return state_dir + "/docker.sock"; }
  std::string PidFile() const { return state_dir + "/docker.pid"; }
  std::string ConfigFile() const { return state_dir + "/daemon.json"; }
  std::string LogFile() const { return state_dir + "/dockerd.log"; }
};

// dockerd's argv (argv[0] included).
std::vector<std::string> DockerdArgs(const DockerdConfig& config);

// "Docker version 20.10.24+dfsg1, build 5d6db84" -> "20.10.24+dfsg1".
std::string ParseDockerdVersion(absl::string_view version_output);

// The "Version" of a GET /version JSON body.
absl::StatusOr<std::string> ParseVersionBody(absl::string_view body);

// Restart delay after `failures` consecutive failed starts: 1s, 2s, 4s, … 30s.
absl::Duration RestartBackoff(int failures);

enum class EngineState { kStarting, kRunning, kRestarting, kFailed, kStopped };

struct EngineStatus {
  EngineState state = EngineState::kStarting;
  std::string version;
  std::string error;  // why it is not running
  int64_t restarts = 0;
};

// Runs the guest dockerd, restarts it with backoff when it dies and tracks
// whether it answers. The agent's reaper (we are PID 1) owns waitpid and
// reports dockerd's exit through OnChildExit.
class DockerdSupervisor {
 public:
  explicit DockerdSupervisor(DockerdConfig config) : config_(std::move(config)) {}
  ~DockerdSupervisor();

  // Prepares the state dir and starts supervising in the background.
  absl::Status Start();
  // SIGTERM, up to `grace` to exit, then SIGKILL. No restart afterwards.
  void Stop(absl::Duration grace);
  // Called by the reaper for every reaped child.
  void OnChildExit(pid_t pid, int wait_status);

  EngineStatus Status() const;
  const DockerdConfig& config() const { return config_; }

 private:
  void Run();
  pid_t SpawnLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string LastLogLine() const;  // last error line of dockerd.log

  const DockerdConfig config_;
  std::string fallback_version_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  pid_t pid_ ABSL_GUARDED_BY(mu_) = 0;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  int exit_status_ ABSL_GUARDED_BY(mu_) = 0;
  EngineStatus status_ ABSL_GUARDED_BY(mu_);
};

// One HTTP/1.0 GET on a Unix socket; the body when the status is 200.
absl::StatusOr<std::string> UnixHttpGet(const std::string& socket_path, const std::string& target,
                                        absl::Duration timeout);

}  // namespace switchyard::agent
