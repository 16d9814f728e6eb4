#pragma once

#include <functional>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/threads/reusable_threads.h"

namespace switchyard::tunnel {

// Runs each tunneled connection on a thread of its own and knows its
// sockets, so that a stop can wake every one (shutdown(2)) and wait for all
// to end: no connection thread outlives its owner. Threads are reused
// (threads::ReusableThreads), so a burst of short connections does not pay
// for a thread each.
class ConnectionTracker {
 public:
  explicit ConnectionTracker(absl::Duration idle_thread_linger = absl::Seconds(10))
      : threads_(idle_thread_linger) {}
  ConnectionTracker(const ConnectionTracker&) = delete;
  ConnectionTracker& operator=(const ConnectionTracker&) = delete;
  ~ConnectionTracker() { StopAll(); }

  // Runs `body` on an idle thread, else a new one; false (body not run) once
  // stopping or when no thread can be had.
  bool Spawn(std::function<void()> body);
  // Watches `fd`, runs `serve(fd)` on a thread as Spawn does, then unwatches
  // and closes it; closes it at once when it cannot be run.
  void ServeAndClose(int fd, std::function<void(int)> serve);
  // On a connection thread: pumps bytes between `client` and `peer` until both
  // directions end, watching `peer` meanwhile, then closes `peer`. The
  // caller still owns `client`.
  void PumpAndClose(int client, int peer);
  // Registers a socket the stop must wake; when already stopping it is shut
  // down at once. Unwatch before closing it.
  void Watch(int fd);
  void Unwatch(int fd);
  // Shuts every watched socket down and waits for every thread to return.
  // Later Spawns are refused. Idempotent.
  void StopAll();
  // Bodies running or queued.
  int live() const { return threads_.live(); }
  // Threads alive, running a body or idle.
  int threads() const { return threads_.threads(); }

 private:
  threads::ReusableThreads threads_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<int> fds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::tunnel
