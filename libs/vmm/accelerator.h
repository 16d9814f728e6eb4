#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace switchyard::vmm {

// What decides a hypervisor accelerator, read off the host.
struct HostFacts {
  std::string os;               // "linux", "darwin"
  bool kvm_device = false;      // /dev/kvm opens read-write
  int kvm_api_version = 0;      // KVM_GET_API_VERSION (12 on any kernel since 2.6.22)
  bool cpu_virtualization = false;  // vmx or svm in /proc/cpuinfo's flags
};

struct AcceleratorChoice {
  std::string accel;   // "kvm", "hvf", "tcg": qemu's -accel
  std::string reason;  // for the log line and `switchyard status`
};

// `forced` ("" for automatic) comes from the config. Automatic: hvf on
// macOS; kvm where /dev/kvm answers and the CPU offers vmx/svm to this
// host (a /dev/kvm backed by something else, such as nested PVM, does
// not boot a stock kernel); tcg otherwise. A guest of another CPU arch
// (`foreign_guest`, e.g. an arm64 guest on an x86-64 host) has only tcg:
// hardware virtualization runs the host's own instruction set.
absl::StatusOr<AcceleratorChoice> ChooseAccelerator(const HostFacts& facts, const std::string& forced,
                                                    const std::string& foreign_guest = "");

// This host's facts.
HostFacts ReadHostFacts(const std::string& cpuinfo_path = "/proc/cpuinfo", const std::string& kvm_path = "/dev/kvm");

}  // namespace switchyard::vmm
