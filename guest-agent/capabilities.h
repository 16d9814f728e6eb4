#pragma once

#include <string>
#include <vector>

namespace switchyard::agent {

// What the guest can run: its kernel arch and the foreign-arch translators
// registered and enabled in binfmt_misc.
struct Capabilities {
  std::string kernel_arch;                // "x86_64", "aarch64"
  std::vector<std::string> translators;  // "qemu-aarch64", "rosetta", "fex-x86_64"
};

// Reads the enabled entries of a binfmt_misc directory (each entry file
// starts with "enabled" or "disabled"; "register" and "status" are not
// entries). Only arch translators count (qemu-*, rosetta, FEX-*), not
// jar or python handlers. Names are lower-cased and sorted. A missing directory, or one
// whose global status is disabled, yields none.
std::vector<std::string> ReadTranslators(const std::string& binfmt_dir);

// Mounts binfmt_misc on /proc/sys/fs/binfmt_misc when absent (the guest's
// /proc is fresh), then reads uname and the translators.
Capabilities ProbeCapabilities(const std::string& binfmt_dir = "/proc/sys/fs/binfmt_misc");

}  // namespace switchyard::agent
