#pragma once

#include <functional>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace switchyard::tunnel {

// Runs each tunneled connection on its own thread and knows its sockets, so
// that a stop can wake every one (shutdown(2)) and wait for all to end: no
// connection thread outlives its owner.
class ConnectionTracker {
 public:
  ConnectionTracker() = default;
  ConnectionTracker(const ConnectionTracker&) = delete;
  ConnectionTracker& operator=(const ConnectionTracker&) = delete;
  ~ConnectionTracker() { StopAll(); }

  // Runs `body` on a new thread; false (body not run) once stopping.
  bool Spawn(std::function<void()> body);
  // Registers a socket the stop must wake; when already stopping it is shut
  // down at once. Unwatch before closing it.
  void Watch(int fd);
  void Unwatch(int fd);
  // Shuts every watched socket down and waits for every thread to return.
  // Later Spawns are refused. Idempotent.
  void StopAll();
  int live() const;

 private:
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int live_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<int> fds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::tunnel
