#pragma once

#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::threads {

// Runs each body on a thread of its own, reusing threads: one whose body
// returned waits a while for the next, so a burst of short bodies does not
// pay for a thread each (creating one costs tens of microseconds, as much as
// a short request). Bodies never wait for a free thread.
class ReusableThreads {
 public:
  explicit ReusableThreads(absl::Duration idle_linger = absl::Seconds(10)) : idle_linger_(idle_linger) {}
  ReusableThreads(const ReusableThreads&) = delete;
  ReusableThreads& operator=(const ReusableThreads&) = delete;
  ~ReusableThreads() { StopAll(); }

  // Runs `body` on an idle thread, else a new one; false (body not run) once
  // stopping or when no thread can be had.
  bool Spawn(std::function<void()> body);
  // Refuses later bodies and waits for every thread to return; bodies
  // already given still run. Idempotent.
  void StopAll();
  // Bodies running or queued.
  int live() const;
  // Threads alive, running a body or idle.
  int threads() const;

 private:
  void Work(std::function<void()> body);

  const absl::Duration idle_linger_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int live_ ABSL_GUARDED_BY(mu_) = 0;
  int threads_ ABSL_GUARDED_BY(mu_) = 0;
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::function<void()>> queued_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::threads
