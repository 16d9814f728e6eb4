#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::config {

struct BackendConfig {
  std::string driver = "sandbox";  // the VM driver ("sandbox" on Linux)
  std::string bip;                 // the guest dockerd's default bridge, "10.210.0.1/24"
  std::string address_pool;        // where its user-defined networks come from, "10.211.0.0/16"
  std::string start = "eager";     // "eager": booted at `up`; "on-demand": when a workload first needs it
  int idle_stop_seconds = 0;       // stopped after this long idle (0: never)
  // A VM with its own kernel (qemu, vfkit, krunkit): its size.
  int memory_mib = 2048;
  int cpus = 2;
  int disk_gib = 64;  // the data disk, a sparse file: it takes what the guest writes
};

// How VMs with their own kernel (qemu, vfkit, krunkit) are made.
struct GuestConfig {
  std::string image;        // tools/guest-image's output; "" = its default for this arch
  std::string accelerator;  // qemu's: "kvm", "hvf", "tcg"; "" chooses what works here
  // qemu's: "kernel" loads the image's kernel; "efi" boots its EFI disk
  // with UEFI firmware, as krunkit does.
  std::string boot = "kernel";
  // Host directories mounted in the guests at the same paths, so bind
  // mounts of them work (as Docker Desktop shares /Users and /tmp).
  std::vector<std::string> shares = {"/home", "/tmp"};
};

// The whole service set's settings: one file, whose defaults need no editing.
// See deploy/switchyard.json for every key with its default and meaning.
struct Config {
  std::string run_dir = "/run/switchyard";      // sockets (0700 directory)
  std::string state_dir = "/var/lib/switchyard";  // VM disks, registry, logs
  std::string socket_group = "docker";             // group of docker.sock (0660), as dockerd's; "" keeps root's
  std::string native_arch;                         // "amd64" or "arm64"; "" = this machine's
  std::string instance = "switchyard";             // names host-wide things (cgroups) of this set
  BackendConfig hv{"sandbox", "10.210.0.1/24", "10.211.0.0/16", "eager", 0};
  // The translating VM costs nothing until a workload needs it, and nothing
  // again once idle for 5 minutes.
  BackendConfig vz{"sandbox", "10.220.0.1/24", "10.221.0.0/16", "on-demand", 300};
  GuestConfig guest;
  bool translators_vz_enabled = true;     // foreign archs run on vz through its translator
  bool translators_hv_fallback = false;   // …or on hv's, when vz cannot
  bool experimental_mixed_groups = false;  // a Compose project or pod may span both VMs
};

// Parses a config file's text over the defaults. InvalidArgument naming the
// file, the key and the accepted values for an unknown key, a value of the
// wrong type or out of range, or address ranges that overlap.
absl::StatusOr<Config> ParseConfig(absl::string_view text, const std::string& origin);
// Reads and parses `path`.
absl::StatusOr<Config> LoadConfig(const std::string& path);
// Checks a Config however it was made (file, flags or both).
absl::Status Validate(const Config& config, const std::string& origin);

}  // namespace switchyard::config
