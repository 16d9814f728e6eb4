#include "guest-agent/capabilities.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

fs::path Fixture(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("sy-binfmt-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("enabled binfmt entries are translators", "[agent][unit]") {
  fs::path dir = Fixture("a");
  Write(dir / "status", "enabled\n");
  Write(dir / "register", "");
  Write(dir / "qemu-aarch64", "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POCF\n");
  Write(dir / "qemu-arm", "disabled\ninterpreter /usr/libexec/qemu-binfmt/arm-binfmt-P\n");
  Write(dir / "rosetta", "enabled\ninterpreter /mnt/rosetta\n");
  Write(dir / "python3.11", "enabled\ninterpreter /usr/bin/python3.11\n");
  Write(dir / "FEX-x86_64", "enabled\ninterpreter /usr/bin/FEXInterpreter\n");
  REQUIRE(switchyard::agent::ReadTranslators(dir.string()) ==
          std::vector<std::string>{"fex-x86_64", "qemu-aarch64", "rosetta"});
  fs::remove_all(dir);
}

TEST_CASE("binfmt_misc globally disabled or absent gives none", "[agent][unit]") {
  fs::path dir = Fixture("b");
  Write(dir / "status", "disabled\n");
  Write(dir / "qemu-aarch64", "enabled\n");
  REQUIRE(switchyard::agent::ReadTranslators(dir.string()).empty());
  fs::remove_all(dir);
  REQUIRE(switchyard::agent::ReadTranslators(dir.string()).empty());
}

TEST_CASE("a translator is proven only by running its probe", "[agent][unit]") {
  using switchyard::agent::ProbeTranslators;
  fs::path probes = Fixture("probes");
  // Stand-ins for busybox-<arch>: the kernel runs a script directly.
  Write(probes / "busybox-arm64", "#!/bin/sh\nexit 0\n");
  Write(probes / "busybox-s390x", "#!/bin/sh\nexit 3\n");
  fs::permissions(probes / "busybox-arm64", fs::perms::owner_all);
  fs::permissions(probes / "busybox-s390x", fs::perms::owner_all);

  auto results = ProbeTranslators({"qemu-aarch64", "qemu-s390x", "qemu-riscv64", "qemu-sparc", "rosetta"},
                                  probes.string());
  REQUIRE(results.size() == 4);  // qemu-sparc runs no arch workloads are placed on
  CHECK(results[0].handler == "qemu-aarch64");
  CHECK(results[0].arch == "arm64");
  CHECK(results[0].ran);
  CHECK(results[0].millis > 0);
  CHECK_FALSE(results[1].ran);
  CHECK(results[1].error == "probe busybox-s390x exited 3");
  CHECK_FALSE(results[2].ran);
  CHECK(results[2].error == "no probe binary " + (probes / "busybox-riscv64").string());
  CHECK(results[3].arch == "amd64");  // Rosetta runs x86-64
  CHECK_FALSE(results[3].ran);
  fs::remove_all(probes);
}

TEST_CASE("a guest registers a qemu-user translator for each arch it cannot run", "[agent][unit]") {
  using switchyard::agent::ForeignQemuTranslators;
  CHECK(ForeignQemuTranslators("x86_64") == "qemu-aarch64,qemu-arm");
  CHECK(ForeignQemuTranslators("aarch64") == "qemu-x86_64,qemu-arm");  // no AArch32 on Apple silicon
  CHECK(ForeignQemuTranslators("s390x").empty());
}
