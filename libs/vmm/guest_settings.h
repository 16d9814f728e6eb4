#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace switchyard::vmm {

// What vm-init.sh (guest-agent/vm-init.sh) needs to know of its VM: the
// sy_* settings, one way for every driver. On a kernel command line they
// reach /init as environment variables; a VM booted from the shared EFI
// disk (krunkit) reads them from a settings disk instead.
struct GuestSettings {
  std::string hostname;
  std::vector<std::string> agent_args;
  std::vector<std::pair<std::string, std::string>> shares;  // mount tag, guest path
  std::vector<std::string> translators;
  std::string data_disk;  // the guest's device; empty: vm-init's default (/dev/vda)
};

// "sy_hostname=…" and the rest, in vm-init's order. Values must not hold
// spaces, '|', ',' or '"' (the command line and vm-init split on them).
absl::StatusOr<std::vector<std::string>> GuestSettingLines(const GuestSettings& settings);

// The kernel command line: the console, then the settings; at most 2047
// bytes (COMMAND_LINE_SIZE on x86 and arm64).
absl::StatusOr<std::string> GuestKernelCmdline(const std::string& console, const GuestSettings& settings);

// The settings disk's contents: a first line vm-init finds it by, one
// setting per line, zero-padded to 4096 bytes (a whole number of sectors).
inline constexpr char kSettingsDiskMagic[] = "#switchyard-settings";
absl::StatusOr<std::string> GuestSettingsDisk(const GuestSettings& settings);

}  // namespace switchyard::vmm
