#include "libs/tunnel/connection_tracker.h"

#include <sys/socket.h>

#include <system_error>
#include <thread>

namespace switchyard::tunnel {

bool ConnectionTracker::Spawn(std::function<void()> body) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    ++live_;
  }
  // Detached, but counted: StopAll waits for the count to drop to zero.
  try {
    std::thread([this, body = std::move(body)]() mutable {
      body();
      body = nullptr;  // release captures before the owner may go away
      absl::MutexLock lock(&mu_);
      --live_;
    }).detach();
  } catch (const std::system_error&) {
    // No thread to be had (resource limits): refuse this connection only.
    absl::MutexLock lock(&mu_);
    --live_;
    return false;
  }
  return true;
}

void ConnectionTracker::Watch(int fd) {
  absl::MutexLock lock(&mu_);
  fds_.insert(fd);
  if (stopping_) ::shutdown(fd, SHUT_RDWR);
}

void ConnectionTracker::Unwatch(int fd) {
  absl::MutexLock lock(&mu_);
  fds_.erase(fd);
}

void ConnectionTracker::StopAll() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_ == 0; };
  mu_.Await(absl::Condition(&ended));
}

int ConnectionTracker::live() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

}  // namespace switchyard::tunnel
