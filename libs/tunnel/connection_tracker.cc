#include "libs/tunnel/connection_tracker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <system_error>
#include <thread>

namespace switchyard::tunnel {

bool ConnectionTracker::Spawn(std::function<void()> body) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    ++live_;
    // An idle thread takes it; each idle thread takes at most one.
    if (idle_ > static_cast<int>(queued_.size())) {
      queued_.push_back(std::move(body));
      return true;
    }
    ++threads_;
  }
  // Detached, but counted: StopAll waits for every thread to leave.
  try {
    std::thread([this, body = std::move(body)]() mutable { Work(std::move(body)); }).detach();
  } catch (const std::system_error&) {
    // No thread to be had (resource limits): refuse this connection only.
    absl::MutexLock lock(&mu_);
    --live_;
    --threads_;
    return false;
  }
  return true;
}

void ConnectionTracker::Work(std::function<void()> body) {
  while (true) {
    body();
    body = nullptr;  // release captures before the owner may go away
    absl::MutexLock lock(&mu_);
    --live_;
    ++idle_;
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queued_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&woken), idle_thread_linger_);
    --idle_;
    if (queued_.empty()) {
      --threads_;  // the last touch of `this`: StopAll may return after it
      return;
    }
    body = std::move(queued_.front());
    queued_.pop_front();
  }
}

void ConnectionTracker::ServeAndClose(int fd, std::function<void(int)> serve) {
  Watch(fd);
  bool spawned = Spawn([this, fd, serve = std::move(serve)] {
    serve(fd);
    Unwatch(fd);
    ::close(fd);
  });
  if (!spawned) {
    Unwatch(fd);
    ::close(fd);
  }
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
  // Queued bodies still run (their sockets are shut down): each owns a
  // descriptor it must close.
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_ == 0 && threads_ == 0; };
  mu_.Await(absl::Condition(&ended));
}

int ConnectionTracker::live() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

int ConnectionTracker::threads() const {
  absl::MutexLock lock(&mu_);
  return threads_;
}

}  // namespace switchyard::tunnel
