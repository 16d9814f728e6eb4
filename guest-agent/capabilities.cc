#include "guest-agent/capabilities.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

std::string HandlerArch(const std::string& handler) {
  static const std::pair<const char*, const char*> kArchs[] = {
      {"qemu-aarch64", "arm64"}, {"qemu-x86_64", "amd64"}, {"qemu-arm", "arm"},         {"qemu-i386", "386"},
      {"qemu-riscv64", "riscv64"}, {"qemu-s390x", "s390x"}, {"qemu-ppc64le", "ppc64le"}, {"qemu-mips64el", "mips64le"},
      {"qemu-loongarch64", "loong64"}, {"rosetta", "amd64"}};
  for (const auto& [name, arch] : kArchs) {
    if (handler == name) return arch;
  }
  if (absl::StartsWith(handler, "fex")) return "amd64";  // FEX-Emu runs x86-64 (and x86)
  return "";
}

std::vector<TranslatorProbe> ProbeTranslators(const std::vector<std::string>& handlers, const std::string& probe_dir) {
  std::vector<TranslatorProbe> probes;
  for (const std::string& handler : handlers) {
    TranslatorProbe probe{handler, HandlerArch(handler), false, 0, ""};
    if (probe.arch.empty()) continue;  // not an arch workloads are placed on
    const fs::path binary = fs::path(probe_dir) / ("busybox-" + probe.arch);
    std::error_code ec;
    if (!fs::exists(binary, ec)) {
      probe.error = absl::StrCat("no probe binary ", binary.string());
      probes.push_back(std::move(probe));
      continue;
    }
    const std::string path = binary.string();  // no allocation after fork
    const absl::Time start = absl::Now();
    pid_t pid = ::fork();
    if (pid == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
      }
      ::execl(path.c_str(), path.c_str(), "true", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    bool done = false;
    // Bounded: a translator that hangs is as broken as one that fails.
    for (absl::Time deadline = start + absl::Seconds(10); pid > 0 && absl::Now() < deadline;) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        done = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    probe.millis = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (pid <= 0) {
      probe.error = "cannot start the probe";
    } else if (!done) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      probe.error = absl::StrCat("probe ", binary.filename().string(), " did not finish within 10s");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      probe.ran = true;
    } else if (WIFEXITED(status)) {
      probe.error = absl::StrCat("probe ", binary.filename().string(), " exited ", WEXITSTATUS(status));
    } else {
      probe.error = absl::StrCat("probe ", binary.filename().string(), " killed by signal ", WTERMSIG(status));
    }
    probes.push_back(std::move(probe));
  }
  return probes;
}

Capabilities ProbeCapabilities(const std::string& probe_dir, const std::string& binfmt_dir) {
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
  caps.probes = ProbeTranslators(ReadTranslators(binfmt_dir), probe_dir);
  for (const TranslatorProbe& probe : caps.probes) {
    if (probe.ran) caps.translators.push_back(probe.handler);
  }
  return caps;
}

}  // namespace switchyard::agent
