#include "guest-agent/cancel_watcher.h"

#include <sys/socket.h>

#include "absl/time/time.h"

namespace switchyard::agent {

CancelWatcher& CancelWatcher::Instance() {
  // Never destroyed: the agent is PID 1 and its calls may outlive main's scope.
  static CancelWatcher* watcher = new CancelWatcher();
  return *watcher;
}

CancelWatcher::CancelWatcher() : thread_([this] { Run(); }) { thread_.detach(); }

CancelWatcher::Guard CancelWatcher::Watch(grpc::ServerContext& context, int fd) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{&context, fd});
  return Guard(*this, id);
}

void CancelWatcher::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);
  entries_.erase(id);
}

void CancelWatcher::Run() {
  for (;;) {
    {
      // Shut down under the lock: a guard removed concurrently has not yet
      // let its fd be closed (it blocks on the lock first).
      absl::MutexLock lock(&mu_);
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.context->IsCancelled()) {
          ::shutdown(it->second.fd, SHUT_RDWR);
          entries_.erase(it++);
        } else {
          ++it;
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace switchyard::agent
