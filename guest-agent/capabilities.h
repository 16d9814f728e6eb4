#pragma once

#include <sys/utsname.h>

#include <string>
#include <vector>

namespace switchyard::agent {

// What the guest can run: its kernel arch and the foreign-arch translators
// registered and enabled in binfmt_misc.
// One translator's proof: a tiny binary of its arch, run through it.
struct TranslatorProbe {
  std::string handler;  // "qemu-aarch64", "rosetta", "fex-x86_64"
  std::string arch;     // what it runs: "arm64", "amd64"
  bool ran = false;
  double millis = 0;    // the probe's wall time
  std::string error;    // why it did not run
};

struct Capabilities {
  std::string kernel_arch;                // "x86_64", "aarch64"
  std::vector<std::string> translators;  // the handlers whose probe ran: "qemu-aarch64", "rosetta"
  std::vector<TranslatorProbe> probes;   // every arch translator registered, proven or not
};

// The arch a translator's binfmt handler runs ("qemu-aarch64" → "arm64",
// "rosetta" → "amd64"), "" when not an arch we place workloads on.
std::string HandlerArch(const std::string& handler);

// The qemu-user handlers, comma-separated, that run the archs we place on a
// guest of kernel arch `machine` (uname) but that it cannot run itself:
// "qemu-aarch64,qemu-arm" on x86_64, "qemu-x86_64,qemu-arm" on aarch64
// (Apple silicon has no AArch32); "" for any other machine.
// Inline: the service set's launcher names them without the agent library.
inline std::string ForeignQemuTranslators(const std::string& machine) {
  if (machine == "x86_64") return "qemu-aarch64,qemu-arm";
  if (machine == "aarch64") return "qemu-x86_64,qemu-arm";
  return "";
}
// …on this host's kernel.
inline std::string ForeignQemuTranslators() {
  utsname u{};
  ::uname(&u);
  return ForeignQemuTranslators(u.machine);
}

// Runs `<probe_dir>/busybox-<arch> true` for each handler, bounded: a
// translator is proven when its probe exits 0. No probe binary for an arch:
// unproven, with that said. Waits for its own children: call it before
// anything in the process reaps every child.
std::vector<TranslatorProbe> ProbeTranslators(const std::vector<std::string>& handlers, const std::string& probe_dir);

// Reads the enabled entries of a binfmt_misc directory (each entry file
// starts with "enabled" or "disabled"; "register" and "status" are not
// entries). Only arch translators count (qemu-*, rosetta, FEX-*), not
// jar or python handlers. Names are lower-cased and sorted. A missing directory, or one
// whose global status is disabled, yields none.
std::vector<std::string> ReadTranslators(const std::string& binfmt_dir);

// Mounts binfmt_misc on /proc/sys/fs/binfmt_misc when absent (the guest's
// /proc is fresh), then reads uname and the translators.
// Only proven translators are listed in `translators`.
Capabilities ProbeCapabilities(const std::string& probe_dir,
                               const std::string& binfmt_dir = "/proc/sys/fs/binfmt_misc");

// Where the project installs its probe binaries (tools/setup-deps).
inline constexpr char kDefaultProbeDir[] = "/usr/local/lib/switchyard/probes";

}  // namespace switchyard::agent
