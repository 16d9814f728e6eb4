#include "libs/placement/platform.h"

#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchyard::placement {
namespace {

bool KnownArch(absl::string_view arch) {
  for (absl::string_view known : {"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64",
                                  "mips64le", "loong64"}) {
    if (arch == known) return true;
  }
  return false;
}

bool KnownOs(absl::string_view os) { return os == "linux" || os == "windows" || os == "darwin"; }

// containerd's normalizeArch: the arch and the variant it implies.
std::pair<std::string, std::string> ArchAndVariant(absl::string_view arch_text, absl::string_view variant_text) {
  std::string arch = absl::AsciiStrToLower(arch_text);
  std::string variant = absl::AsciiStrToLower(variant_text);
  if (arch == "i386") return {"386", ""};
  if (arch == "x86_64" || arch == "x86-64") return {"amd64", ""};
  if (arch == "aarch64" || arch == "arm64") return {"arm64", variant == "8" || variant == "v8" ? "" : variant};
  if (arch == "armhf") return {"arm", "v7"};
  if (arch == "armel") return {"arm", "v6"};
  if (arch == "arm") {
    if (variant.empty() || variant == "7") return {"arm", "v7"};
    if (variant == "5" || variant == "6" || variant == "8") return {"arm", absl::StrCat("v", variant)};
  }
  return {arch, variant};
}

// The ARM version a variant names ("v7" → 7); 0 when it names none.
int ArmVersion(absl::string_view variant) {
  int version = 0;
  if (!variant.empty() && variant[0] == 'v') variant.remove_prefix(1);
  return absl::SimpleAtoi(variant, &version) ? version : 0;
}

}  // namespace

std::string NormalizeArch(absl::string_view arch) {
  std::string a = absl::AsciiStrToLower(arch);
  if (a == "i686") return "386";
  return ArchAndVariant(a, "").first;
}

absl::StatusOr<Platform> ParsePlatform(absl::string_view text) {
  std::vector<std::string> parts = absl::StrSplit(absl::AsciiStrToLower(text), '/');
  Platform platform;
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\": unknown operating system or architecture: invalid argument"));
  };
  if (parts.empty() || parts.size() > 3 || parts[0].empty()) return invalid();
  if (parts.size() == 1) {
    if (KnownOs(parts[0])) return invalid();
    platform.os = "linux";
  } else {
    platform.os = parts[0];
  }
  const std::string& arch = parts.size() == 1 ? parts[0] : parts[1];
  if (arch == "i686") return invalid();  // containerd does not know it
  std::tie(platform.architecture, platform.variant) = ArchAndVariant(arch, parts.size() == 3 ? parts[2] : "");
  // containerd's Parse leaves v7 unsaid unless it was said, and says v8
  // for an arm64 variant that was given.
  if (parts.size() < 3 && platform.architecture == "arm" && platform.variant == "v7") platform.variant.clear();
  if (parts.size() == 3 && platform.architecture == "arm64" && platform.variant.empty()) platform.variant = "v8";
  if (!KnownOs(platform.os) || !KnownArch(platform.architecture)) return invalid();
  return platform;
}

std::string PlatformString(const Platform& platform) {
  return platform.variant.empty() ? absl::StrCat(platform.os, "/", platform.architecture)
                                  : absl::StrCat(platform.os, "/", platform.architecture, "/", platform.variant);
}

bool PlatformMatches(const Platform& wanted, const Platform& image) {
  if (absl::AsciiStrToLower(wanted.os) != absl::AsciiStrToLower(image.os)) return false;
  auto [want_arch, want_variant] = ArchAndVariant(wanted.architecture, wanted.variant);
  auto [image_arch, image_variant] = ArchAndVariant(image.architecture, image.variant);
  if (image_variant.empty() && image_arch == want_arch) return true;  // dockerd's fallback: no variant said
  if (want_arch == "arm64" && image_arch == "arm") return ArmVersion(image_variant) >= 5;
  if (want_arch != image_arch) return false;
  if (want_arch == "arm") {
    const int image_version = ArmVersion(image_variant);
    return image_version >= 5 && image_version <= ArmVersion(want_variant);
  }
  return want_variant == image_variant;
}

}  // namespace switchyard::placement
