#include "guest-agent/capabilities.h"

#include <sys/mount.h>
#include <sys/utsname.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {
namespace fs = std::filesystem;
namespace {

std::string FirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return std::string(absl::StripAsciiWhitespace(line));
}

}  // namespace

std::vector<std::string> ReadTranslators(const std::string& binfmt_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(binfmt_dir, ec)) return out;
  fs::path status = fs::path(binfmt_dir) / "status";
  if (fs::exists(status, ec) && FirstLine(status) != "enabled") return out;
  for (const auto& entry : fs::directory_iterator(binfmt_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name == "register" || name == "status" || !entry.is_regular_file(ec)) continue;
    if (FirstLine(entry.path()) != "enabled") continue;
    name = absl::AsciiStrToLower(name);
    // Only arch translators; binfmt also runs jars, python, … here.
    if (!absl::StartsWith(name, "qemu-") && !absl::StartsWith(name, "fex") && name != "rosetta") continue;
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Capabilities ProbeCapabilities(const std::string& binfmt_dir) {
  Capabilities caps;
  utsname u{};
  if (::uname(&u) == 0) caps.kernel_arch = u.machine;
  std::error_code ec;
  if (!fs::exists(fs::path(binfmt_dir) / "register", ec)) {
    // binfmt_misc is global to the kernel; mounting it just makes it visible.
    if (::mount("binfmt_misc", binfmt_dir.c_str(), "binfmt_misc", 0, nullptr) != 0) {
      spdlog::debug("cannot mount binfmt_misc on {}", binfmt_dir);
    }
  }
  caps.translators = ReadTranslators(binfmt_dir);
  return caps;
}

}  // namespace switchyard::agent
