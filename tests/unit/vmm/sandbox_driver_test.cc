#include "libs/vmm/sandbox_driver.h"

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/fakes/fake_vm_driver.h"

namespace fs = std::filesystem;
using switchyard::vmm::VmSpec;

TEST_CASE("agent command line carries the VM spec", "[vmm][unit]") {
  VmSpec spec;
  spec.backend = "hv";
  spec.state_dir = "/var/lib/switchyard/vms/hv";
  spec.agent_bin = "/usr/libexec/switchyard-agent";
  spec.bip = "172.30.0.1/24";
  spec.default_address_pool = "172.31.0.0/16";
  spec.cgroup_parent = "/switchyard-hv";
  spec.loopback_forward_ports = {5000, 5001};
  spec.insecure_registries = {"127.0.0.1:5000"};
  auto args = switchyard::vmm::AgentArgs(spec, "/var/lib/switchyard/vms/hv/agent.sock");
  REQUIRE(args == std::vector<std::string>{
                      "/usr/libexec/switchyard-agent", "--backend=hv", "--state_dir=/var/lib/switchyard/vms/hv",
                      "--socket=/var/lib/switchyard/vms/hv/agent.sock", "--dockerd=/usr/sbin/dockerd",
                      "--bip=172.30.0.1/24", "--default_address_pool=172.31.0.0/16",
                      "--cgroup_parent=/switchyard-hv", "--loopback_forward=5000,5001",
                      "--insecure_registries=127.0.0.1:5000", "--manager_grace=30s"});
}

TEST_CASE("agent command line omits unset options", "[vmm][unit]") {
  VmSpec spec;
  spec.backend = "vz";
  spec.state_dir = "/s";
  spec.agent_bin = "/a";
  spec.manager_grace = absl::ZeroDuration();
  auto args = switchyard::vmm::AgentArgs(spec, "/s/agent.sock");
  REQUIRE(args.size() == 5);
}

TEST_CASE("slirp4netns keeps host loopback reachable and ends with the VM's lifeline", "[vmm][unit]") {
  auto args = switchyard::vmm::SlirpArgs("/usr/bin/slirp4netns", 1234, 7, 8);
  REQUIRE(args == std::vector<std::string>{"/usr/bin/slirp4netns", "--configure", "--mtu=65520", "--ready-fd=7",
                                           "--exit-fd=8", "1234", "tap0"});
  REQUIRE(std::find(args.begin(), args.end(), "--disable-host-loopback") == args.end());
}

TEST_CASE("cgroup dirs to remove: every hierarchy, children first", "[vmm][unit]") {
  fs::path root = fs::temp_directory_path() / ("sy-cgroup-test-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "memory/switchyard-hv/abc/inner");
  fs::create_directories(root / "pids/switchyard-hv");
  fs::create_directories(root / "cpu/other");
  fs::create_directories(root / "unified/switchyard-hv/def");
  auto dirs = switchyard::vmm::CgroupDirsToRemove(root.string(), "/switchyard-hv");
  REQUIRE(dirs.size() == 6);
  auto pos = [&](const fs::path& p) { return std::find(dirs.begin(), dirs.end(), p.string()) - dirs.begin(); };
  REQUIRE(pos(root / "memory/switchyard-hv/abc/inner") < pos(root / "memory/switchyard-hv/abc"));
  REQUIRE(pos(root / "memory/switchyard-hv/abc") < pos(root / "memory/switchyard-hv"));
  REQUIRE(pos(root / "unified/switchyard-hv/def") < pos(root / "unified/switchyard-hv"));
  REQUIRE(pos(root / "cpu/other") == static_cast<long>(dirs.size()));
  // Never the hierarchy roots themselves.
  REQUIRE(switchyard::vmm::CgroupDirsToRemove(root.string(), "/").empty());
  REQUIRE(switchyard::vmm::CgroupDirsToRemove(root.string(), "../x").empty());
  fs::remove_all(root);
}

TEST_CASE("wait status descriptions", "[vmm][unit]") {
  REQUIRE(switchyard::vmm::DescribeWaitStatus(3 << 8) == "exited with status 3");
  REQUIRE(switchyard::vmm::DescribeWaitStatus(9) == "killed by signal 9");
}

TEST_CASE("fake driver scripts boots and crashes", "[vmm][unit]") {
  switchyard::vmm::FakeVmDriver driver;
  REQUIRE(driver.Boot(VmSpec{}).ok());
  REQUIRE(driver.IsRunning());
  driver.Crash("agent exited with status 1");
  REQUIRE_FALSE(driver.IsRunning());
  REQUIRE(driver.ExitReason() == "agent exited with status 1");
}
