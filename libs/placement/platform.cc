#include "libs/placement/platform.h"

#include <vector>

#include "absl/strings/ascii.h"
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

}  // namespace

std::string NormalizeArch(absl::string_view arch) {
  std::string a = absl::AsciiStrToLower(arch);
  if (a == "x86_64" || a == "x86-64") return "amd64";
  if (a == "aarch64") return "arm64";
  if (a == "i386" || a == "i686") return "386";
  return a;
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
    platform.architecture = NormalizeArch(parts[0]);
  } else {
    platform.os = parts[0];
    platform.architecture = NormalizeArch(parts[1]);
    if (parts.size() == 3) platform.variant = parts[2];
  }
  if (!KnownOs(platform.os) || !KnownArch(platform.architecture)) return invalid();
  return platform;
}

}  // namespace switchyard::placement
