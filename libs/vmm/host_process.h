#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace switchyard::vmm {

// A host process that makes up a VM (the sandbox's agent and slirp4netns,
// a hypervisor): our child after a boot, or one adopted from a previous
// manager (then only its pidfd tells when it ends).
struct HostProcess {
  pid_t pid = 0;
  int pidfd = -1;
  bool child = false;

  // Through the pidfd when there is one, so a reused pid is never hit.
  void Signal(int sig) const;
  // How it ended ("exited with status 0", "ended"), once it has within
  // `timeout`, reaped if our child; nullopt while it runs.
  std::optional<std::string> WaitEnd(absl::Duration timeout);
  // Forgets it: closes the pidfd.
  void Release();
};

// Spawns `args` in a session of its own with `keep_fds` as its only extra
// descriptors and stdout/stderr on `log_fd`. It outlives us: the VM it
// serves may be adopted by our successor.
absl::StatusOr<pid_t> SpawnDetached(const std::vector<std::string>& args, std::vector<int> keep_fds, int log_fd);

int PidfdOpen(pid_t pid);

// "exited with status 3" / "killed by signal 9" for a waitpid status.
std::string DescribeWaitStatus(int status);

}  // namespace switchyard::vmm
