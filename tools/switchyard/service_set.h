#pragma once

#include <string>
#include <vector>

#include "libs/config/config.h"

namespace switchyard::cli {

// Where a service set lives and how its VMs are laid out.
struct ServiceSetConfig {
  std::string run_dir;    // private (0700): every socket, pid files
  std::string state_dir;  // VM state dirs, logs
  std::string bin_dir;    // the switchyard binaries
  std::string loopback_forward;  // host loopback ports the guests reach at 127.0.0.1
  std::string socket_group;
  std::string native_arch;
  std::string instance;  // names host-wide things (cgroup parents) of this set
  // Routing settings (DESIGN.md "Routing policy"), passed to the scheduler.
  bool translators_vz_enabled = true;
  bool translators_hv_fallback = false;
  bool experimental_mixed_groups = false;
  // Driver and disjoint address pools of each VM.
  switchyard::config::BackendConfig hv = switchyard::config::Config{}.hv;
  switchyard::config::BackendConfig vz = switchyard::config::Config{}.vz;
  std::string probe_dir;  // translator probe binaries; "" for the installed ones
  switchyard::config::GuestConfig guest;  // VMs with their own kernel
};

struct ServiceSpec {
  std::string name;  // "vmm-hv", "scheduler", ...
  std::vector<std::string> argv;
  int stop_timeout_seconds;
};

// The processes of a service set, in start order.
std::vector<ServiceSpec> ServiceSpecs(const ServiceSetConfig& config);

// Runs the set in the foreground: starts every service, restarts any that
// dies (with backoff), and on SIGTERM/SIGINT stops them in reverse order.
int Supervise(const ServiceSetConfig& config);

}  // namespace switchyard::cli
