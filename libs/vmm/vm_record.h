#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace switchyard::vmm {

// What a VM manager needs to find its running VM again after it restarted:
// the host processes that make the VM, each named by pid and start time (a
// pid alone may have been reused), and the agent command line it was booted
// with (a VM booted for another configuration is not taken over).
struct VmRecord {
  std::string boot_id;  // the host's boot: pids and start times mean nothing across one
  pid_t agent_pid = 0;
  uint64_t agent_start = 0;
  pid_t slirp_pid = 0;
  uint64_t slirp_start = 0;
  std::vector<std::string> agent_args;
};

std::string FormatVmRecord(const VmRecord& record);
absl::StatusOr<VmRecord> ParseVmRecord(const std::string& text);

// Written whole or not at all (temp file, then rename).
absl::Status WriteVmRecord(const std::string& path, const VmRecord& record);
// NOT_FOUND when there is none.
absl::StatusOr<VmRecord> ReadVmRecord(const std::string& path);

// When process `pid` started, in clock ticks since boot (/proc/<pid>/stat,
// field 22); NOT_FOUND when there is no such process.
absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid);
// The start time field of a /proc/<pid>/stat line. The command name may hold
// spaces and parentheses: fields are counted after its last ')'.
absl::StatusOr<uint64_t> StartTimeOfStatLine(const std::string& stat);

// This boot of the host (/proc/sys/kernel/random/boot_id), "" if unknown.
std::string CurrentBootId();

// True when `pid` is alive and is the process that started at `start`.
bool IsSameProcess(pid_t pid, uint64_t start);

}  // namespace switchyard::vmm
