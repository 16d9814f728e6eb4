#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace switchyard::agent {

// The VM lives while a VM manager holds it. A manager keeps a connection
// open on the lease socket for as long as it owns the VM; a manager that
// dies drops it (the kernel closes it), and the one that replaces it
// connects again and carries on with the running VM. Only when no manager
// has held the lease for `grace` — none came back, or none ever connected —
// does the agent take the VM down, so a VM is never left running unowned.
// What a holder writes to have the VM shut down now (a VM on a hypervisor
// has no signal to send to the agent).
inline constexpr char kShutDownNow = 'S';

class ManagerLease {
 public:
  // `on_expire` runs once, on the lease's thread: when the lease expires,
  // or when a holder asks (kShutDownNow).
  ManagerLease(absl::Duration grace, std::function<void()> on_expire);
  ManagerLease(const ManagerLease&) = delete;
  ManagerLease& operator=(const ManagerLease&) = delete;
  ~ManagerLease() { Stop(); }

  // Listens on `socket_path`; the grace starts now.
  absl::Status Start(const std::string& socket_path);
  // Closes every connection and the socket; `on_expire` will not run.
  void Stop();

 private:
  void Run(int listen_fd);

  const absl::Duration grace_;
  std::function<void()> on_expire_;
  std::string socket_path_;
  int wake_fd_ = -1;
  std::thread thread_;
};

}  // namespace switchyard::agent
