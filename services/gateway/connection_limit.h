#pragma once

#include <atomic>

namespace switchyard::gateway {

// Bounds the connections served at once: each holds a thread and buffers,
// so a client opening connections without end must not exhaust the host.
class ConnectionLimit {
 public:
  explicit ConnectionLimit(int max) : max_(max) {}

  // A slot for one connection, or false when all are taken.
  bool TryAcquire() {
    int now = active_.load();
    while (now < max_) {
      if (active_.compare_exchange_weak(now, now + 1)) return true;
    }
    return false;
  }
  void Release() { active_.fetch_sub(1); }
  int max() const { return max_; }
  int active() const { return active_.load(); }

 private:
  const int max_;
  std::atomic<int> active_{0};
};

}  // namespace switchyard::gateway
