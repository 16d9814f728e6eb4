#include "libs/vmm/accelerator.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::vmm {

absl::StatusOr<AcceleratorChoice> ChooseAccelerator(const HostFacts& facts, const std::string& forced,
                                                    const std::string& foreign_guest) {
  if (!forced.empty()) {
    if (forced != "kvm" && forced != "hvf" && forced != "tcg") {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown accelerator \"", forced, "\": want kvm, hvf or tcg (or leave it out to choose)"));
    }
    if (forced != "tcg" && !foreign_guest.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("accelerator \"", forced, "\" cannot run an ", foreign_guest,
                                                     " guest on this host's CPU: only tcg emulates another arch"));
    }
    return AcceleratorChoice{forced, "set in the config"};
  }
  if (!foreign_guest.empty()) {
    return AcceleratorChoice{"tcg", absl::StrCat("an ", foreign_guest, " guest on another CPU arch: software emulation")};
  }
  if (facts.os == "darwin") return AcceleratorChoice{"hvf", "macOS: Hypervisor.framework"};
  if (!facts.kvm_device) return AcceleratorChoice{"tcg", "no usable /dev/kvm: software emulation"};
  if (facts.kvm_api_version != KVM_API_VERSION) {
    return AcceleratorChoice{"tcg", absl::StrCat("/dev/kvm answers API version ", facts.kvm_api_version,
                                                 ", not ", KVM_API_VERSION, ": software emulation")};
  }
  if (!facts.cpu_virtualization) {
    return AcceleratorChoice{"tcg",
                             "/dev/kvm without vmx/svm on the CPU (nested or paravirtual KVM, which does not "
                             "boot a stock kernel): software emulation"};
  }
  return AcceleratorChoice{"kvm", "/dev/kvm with hardware virtualization"};
}

HostFacts ReadHostFacts(const std::string& cpuinfo_path, const std::string& kvm_path) {
  HostFacts facts;
#ifdef __APPLE__
  facts.os = "darwin";
#else
  facts.os = "linux";
#endif
  int kvm = ::open(kvm_path.c_str(), O_RDWR | O_CLOEXEC);
  if (kvm >= 0) {
    facts.kvm_device = true;
    facts.kvm_api_version = ::ioctl(kvm, KVM_GET_API_VERSION, 0);
    ::close(kvm);
  }
  std::ifstream cpuinfo(cpuinfo_path);
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    for (absl::string_view flag : absl::StrSplit(line.substr(line.find(':') + 1), ' ', absl::SkipEmpty())) {
      if (flag == "vmx" || flag == "svm") facts.cpu_virtualization = true;
    }
    break;
  }
  return facts;
}

}  // namespace switchyard::vmm
