#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace switchyard::placement {

// What the scheduler knows of a backend when it decides.
struct BackendView {
  std::string name;  // "hv" or "vz"
  bool up = false;
  // Foreign archs this backend runs through a registered translator
  // (rosetta → amd64, qemu-aarch64 → arm64, fex-x86_64 → amd64).
  std::vector<std::string> translated_archs;
  // Translators registered but proven broken at boot, by arch: "arm64" →
  // "qemu-aarch64: probe busybox-arm64 exited 1".
  std::map<std::string, std::string> broken_translators;
};

// The user's settings (native arch overridable so tests can pin the Mac table).
struct RoutingConfig {
  std::string native_arch = "arm64";
  bool vz_translation_enabled = true;  // Rosetta on vz
  bool hv_fallback_enabled = false;    // a fallback translator (FEX) on hv
};

// What one workload needs.
struct WorkloadNeeds {
  std::string platform;                 // "--platform" as given; empty when not given
  std::vector<std::string> image_archs; // archs the image offers; empty when unknown
};

struct Decision {
  std::string backend;
  std::string rule;  // the rule that fired, in words, for `switchyardctl explain`
  std::string arch;  // the arch the workload will run as
  bool needs_translation = false;
};

// The translator archs a binfmt entry name stands for; empty if none.
std::string TranslatedArch(const std::string& translator);

// The routing table of DESIGN.md "Routing policy", pure:
// Platforms and image archs are normalized as containerd does (armhf is
// arm/v7, arm64/v8 is arm64) and RunsNatively says what "native" covers.
//   --platform native                                → hv
//   --platform foreign, vz translation on and present → vz
//   --platform foreign, otherwise                     → hv with a fallback translator, else an error
//   no platform, image has a native variant (or unknown) → hv
//   no platform, image foreign-only                   → as --platform foreign
absl::StatusOr<Decision> Route(const RoutingConfig& config, const WorkloadNeeds& needs,
                               const BackendView& hv, const BackendView& vz);

// Whether a host CPU of `native_arch` runs `arch` without a translator: an
// x86-64 CPU runs 386 code; Apple silicon has no AArch32, so an arm64 host
// translates arm (v5–v8), as the Mac's table needs.
bool RunsNatively(const std::string& native_arch, const std::string& arch);

// Whether `backend` can run a workload of `arch` under `config`.
bool CanRun(const RoutingConfig& config, const BackendView& backend, const std::string& arch);

}  // namespace switchyard::placement
