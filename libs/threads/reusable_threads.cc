#include "libs/threads/reusable_threads.h"

#include <system_error>
#include <thread>

namespace switchyard::threads {

bool ReusableThreads::Spawn(std::function<void()> body) {
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
    // No thread to be had (resource limits): refuse this body only.
    absl::MutexLock lock(&mu_);
    --live_;
    --threads_;
    return false;
  }
  return true;
}

void ReusableThreads::Work(std::function<void()> body) {
  while (true) {
    body();
    body = nullptr;  // release captures before the owner may go away
    absl::MutexLock lock(&mu_);
    --live_;
    ++idle_;
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queued_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&woken), idle_linger_);
    --idle_;
    if (queued_.empty()) {
      --threads_;  // the last touch of `this`: StopAll may return after it
      return;
    }
    body = std::move(queued_.front());
    queued_.pop_front();
  }
}

void ReusableThreads::StopAll() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  auto ended = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_ == 0 && threads_ == 0; };
  mu_.Await(absl::Condition(&ended));
}

int ReusableThreads::live() const {
  absl::MutexLock lock(&mu_);
  return live_;
}

int ReusableThreads::threads() const {
  absl::MutexLock lock(&mu_);
  return threads_;
}

}  // namespace switchyard::threads
