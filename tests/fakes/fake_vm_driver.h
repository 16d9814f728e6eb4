#pragma once

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "libs/vmm/vm_driver.h"

namespace switchyard::vmm {

// A VM that exists only in memory: tests script boot failures and crashes.
// Thread-safe, so a test can crash the VM while a manager watches it.
class FakeVmDriver : public VmDriver {
 public:
  std::string Name() const override { return "fake"; }
  absl::Status Boot(const VmSpec& spec) override {
    absl::MutexLock lock(&mu_);
    boots_.push_back(spec);
    if (!boot_status_.ok()) return boot_status_;
    running_ = true;
    exit_reason_.clear();
    return absl::OkStatus();
  }
  bool Adopt(const VmSpec& spec) override {
    absl::MutexLock lock(&mu_);
    ++adopt_attempts_;
    if (!adoptable_) return false;
    adoptable_ = false;
    running_ = true;
    return true;
  }
  absl::Status Stop(absl::Duration grace) override {
    absl::MutexLock lock(&mu_);
    ++stops_;
    running_ = false;
    return absl::OkStatus();
  }
  pid_t Pid() const override {
    absl::MutexLock lock(&mu_);
    return running_ ? pid_ : 0;
  }
  bool IsRunning() override {
    absl::MutexLock lock(&mu_);
    return running_;
  }
  std::string ExitReason() const override {
    absl::MutexLock lock(&mu_);
    return exit_reason_;
  }
  std::string AgentEndpoint() const override {
    absl::MutexLock lock(&mu_);
    return agent_endpoint_;
  }
  std::string TunnelEndpoint() const override {
    absl::MutexLock lock(&mu_);
    return tunnel_endpoint_;
  }

  // Scripting.
  void Crash(std::string reason) {
    absl::MutexLock lock(&mu_);
    running_ = false;
    exit_reason_ = std::move(reason);
  }
  // The next Adopt finds a running VM left by a previous manager.
  void set_adoptable(bool adoptable) {
    absl::MutexLock lock(&mu_);
    adoptable_ = adoptable;
  }
  void set_boot_status(absl::Status status) {
    absl::MutexLock lock(&mu_);
    boot_status_ = std::move(status);
  }
  void set_agent_endpoint(std::string endpoint) {
    absl::MutexLock lock(&mu_);
    agent_endpoint_ = std::move(endpoint);
  }
  void set_tunnel_endpoint(std::string endpoint) {
    absl::MutexLock lock(&mu_);
    tunnel_endpoint_ = std::move(endpoint);
  }
  // Observations.
  std::vector<VmSpec> boots() const {
    absl::MutexLock lock(&mu_);
    return boots_;
  }
  int stops() const {
    absl::MutexLock lock(&mu_);
    return stops_;
  }
  int adopt_attempts() const {
    absl::MutexLock lock(&mu_);
    return adopt_attempts_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Status boot_status_ ABSL_GUARDED_BY(mu_) = absl::OkStatus();
  std::vector<VmSpec> boots_ ABSL_GUARDED_BY(mu_);
  int stops_ ABSL_GUARDED_BY(mu_) = 0;
  int adopt_attempts_ ABSL_GUARDED_BY(mu_) = 0;
  bool adoptable_ ABSL_GUARDED_BY(mu_) = false;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  pid_t pid_ = 4242;
  std::string exit_reason_ ABSL_GUARDED_BY(mu_);
  std::string agent_endpoint_ ABSL_GUARDED_BY(mu_) = "/nonexistent/agent.sock";
  std::string tunnel_endpoint_ ABSL_GUARDED_BY(mu_) = "/nonexistent/tunnel.sock";
};

}  // namespace switchyard::vmm
