#include "libs/placement/routing_policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/placement/platform.h"

namespace switchyard::placement {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// `shown`: the platform as the error names it, with its variant ("linux/arm/v7").
absl::StatusOr<Decision> RouteForeign(const RoutingConfig& config, const std::string& arch, const std::string& shown,
                                      const std::string& why, const BackendView& hv, const BackendView& vz) {
  const bool vz_has = Has(vz.translated_archs, arch);
  if (config.vz_translation_enabled && vz_has) {
    return Decision{"vz", absl::StrCat(why, ": ", arch, " is foreign (native ", config.native_arch,
                                       "), translated on vz"), arch, true};
  }
  const bool hv_has = Has(hv.translated_archs, arch);
  if (config.hv_fallback_enabled && hv_has) {
    return Decision{"hv", absl::StrCat(why, ": ", arch, " is foreign and the translator on vz is ",
                                       config.vz_translation_enabled ? "missing" : "disabled",
                                       ", fallback translator on hv"), arch, true};
  }
  auto broken = [&](const BackendView& b) -> std::string {
    auto it = b.broken_translators.find(arch);
    return it == b.broken_translators.end() ? "" : absl::StrCat("broken (", it->second, ")");
  };
  std::string vz_state = !config.vz_translation_enabled ? "disabled (enable it: translators.vz.enabled = true)"
                         : !vz.up                   ? "unavailable (backend vz is not running)"
                         : !broken(vz).empty()      ? broken(vz)
                                  : absl::StrCat("missing (no translator for ", arch, " is registered in vz)");
  std::string hv_state = !config.hv_fallback_enabled ? "not configured (set translators.hv.fallback = true)"
                         : !broken(hv).empty()       ? broken(hv)
                             : absl::StrCat("missing (no translator for ", arch, " is registered in hv)");
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot run ", why, ": ", shown, " needs translation, but the translator on backend vz is ",
      vz_state, " and the fallback translator on backend hv is ", hv_state));
}

}  // namespace

std::string TranslatedArch(const std::string& translator) {
  std::string t = absl::AsciiStrToLower(translator);
  if (t == "rosetta") return "amd64";
  for (absl::string_view prefix : {"qemu-", "fex-"}) {
    if (absl::StartsWith(t, prefix)) return NormalizeArch(t.substr(prefix.size()));
  }
  return "";
}

bool RunsNatively(const std::string& native_arch, const std::string& arch) {
  const std::string native = NormalizeArch(native_arch);
  const std::string a = NormalizeArch(arch);
  return a == native || (native == "amd64" && a == "386");
}

bool CanRun(const RoutingConfig& config, const BackendView& backend, const std::string& arch) {
  if (RunsNatively(config.native_arch, arch)) return true;
  if (backend.name == "vz") return config.vz_translation_enabled && Has(backend.translated_archs, arch);
  return config.hv_fallback_enabled && Has(backend.translated_archs, arch);
}

absl::StatusOr<Decision> Route(const RoutingConfig& config, const WorkloadNeeds& needs,
                               const BackendView& hv, const BackendView& vz) {
  const std::string native = NormalizeArch(config.native_arch);
  RoutingConfig c = config;
  c.native_arch = native;
  if (!needs.platform.empty()) {
    absl::StatusOr<Platform> platform = ParsePlatform(needs.platform);
    if (!platform.ok()) return platform.status();
    if (RunsNatively(native, platform->architecture)) {
      return Decision{"hv", absl::StrCat("--platform ", needs.platform, " is native on ", native, ": hv"),
                      platform->architecture, false};
    }
    return RouteForeign(c, platform->architecture, PlatformString(*platform),
                        absl::StrCat("--platform ", needs.platform), hv, vz);
  }
  if (needs.image_archs.empty()) {
    return Decision{"hv", "no platform and the image's platforms are not known yet: hv", native, false};
  }
  // The native arch first, then one the CPU runs as it is (386 on amd64).
  for (bool exact : {true, false}) {
    for (const std::string& arch : needs.image_archs) {
      if (exact ? arch != native : !RunsNatively(native, arch)) continue;
      return Decision{"hv", absl::StrCat("no platform, the image has a native variant (", arch, "): hv"), arch,
                      false};
    }
  }
  const std::string& only = needs.image_archs.front();
  return RouteForeign(c, only, absl::StrCat("linux/", only), absl::StrCat("no platform, image is ", only, "-only"),
                      hv, vz);
}

}  // namespace switchyard::placement
