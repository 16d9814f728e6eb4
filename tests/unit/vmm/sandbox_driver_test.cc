#include "libs/vmm/sandbox_driver.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "libs/tunnel/sockets.h"
#include "libs/vmm/vm_record.h"
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
                      "--probe_dir=/usr/local/lib/switchyard/probes", "--bip=172.30.0.1/24", "--default_address_pool=172.31.0.0/16",
                      "--cgroup_parent=/switchyard-hv", "--loopback_forward=5000,5001",
                      "--insecure_registries=127.0.0.1:5000", "--manager_grace=30s"});
}

TEST_CASE("agent command line omits unset options", "[vmm][unit]") {
  VmSpec spec;
  spec.backend = "vz";
  spec.state_dir = "/s";
  spec.agent_bin = "/a";
  spec.manager_grace = absl::ZeroDuration();
  spec.probe_dir = "";
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

namespace {

// A state directory with a recorded "VM" whose agent and slirp4netns are
// two `sleep` processes of ours, standing in for a VM a previous manager
// left running. Ends both, and removes the directory, whatever happens.
struct LeftVm {
  LeftVm() {
    dir = fs::temp_directory_path() / ("sy-adopt-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    spec.backend = "hv";
    spec.state_dir = dir.string();
    spec.agent_bin = "/usr/libexec/switchyard-agent";
    agent = Sleep();
    slirp = Sleep();
  }
  ~LeftVm() {
    for (pid_t pid : {agent, slirp}) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    fs::remove_all(dir);
  }
  static pid_t Sleep() {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl("/bin/sleep", "sleep", "60", nullptr);
      ::_exit(127);
    }
    return pid;
  }
  void Record(std::string boot_id, std::vector<std::string> args) {
    switchyard::vmm::VmRecord record;
    record.boot_id = std::move(boot_id);
    record.agent_pid = agent;
    record.agent_start = *switchyard::vmm::ProcessStartTime(agent);
    record.slirp_pid = slirp;
    record.slirp_start = *switchyard::vmm::ProcessStartTime(slirp);
    record.agent_args = std::move(args);
    REQUIRE(switchyard::vmm::WriteVmRecord((dir / "vm.json").string(), record).ok());
  }
  std::vector<std::string> Args() const {
    return switchyard::vmm::AgentArgs(spec, (dir / "agent.sock").string());
  }
  // Whether `pid` ended (it is reaped here once it has).
  static bool Ended(pid_t pid) {
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return true;
      ::usleep(20 * 1000);
    }
    return false;
  }
  fs::path dir;
  VmSpec spec;
  pid_t agent = 0;
  pid_t slirp = 0;
};

}  // namespace

TEST_CASE("a VM left running with a held-out lease is adopted, and stopped by its new owner", "[vmm][unit]") {
  LeftVm left;
  left.Record(switchyard::vmm::CurrentBootId(), left.Args());
  auto lease = switchyard::tunnel::ListenUnix((left.dir / "manager.sock").string());
  REQUIRE(lease.ok());
  switchyard::vmm::SandboxDriver driver;
  REQUIRE(driver.Adopt(left.spec));
  CHECK(driver.Pid() == left.agent);
  CHECK(driver.IsRunning());
  REQUIRE(driver.Stop(absl::Seconds(5)).ok());
  CHECK(LeftVm::Ended(left.agent));
  CHECK(LeftVm::Ended(left.slirp));
  CHECK(!fs::exists(left.dir / "vm.json"));
  ::close(*lease);
}

TEST_CASE("a VM left running that cannot be adopted is stopped first", "[vmm][unit]") {
  LeftVm left;
  SECTION("booted with another configuration") {
    auto lease = switchyard::tunnel::ListenUnix((left.dir / "manager.sock").string());
    REQUIRE(lease.ok());
    std::vector<std::string> args = left.Args();
    args.push_back("--bip=10.9.9.1/24");
    left.Record(switchyard::vmm::CurrentBootId(), args);
    switchyard::vmm::SandboxDriver driver;
    CHECK(!driver.Adopt(left.spec));
    ::close(*lease);
  }
  SECTION("its agent takes no lease (shutting down)") {
    left.Record(switchyard::vmm::CurrentBootId(), left.Args());
    switchyard::vmm::SandboxDriver driver;
    CHECK(!driver.Adopt(left.spec));
  }
  CHECK(LeftVm::Ended(left.agent));
  CHECK(LeftVm::Ended(left.slirp));
  CHECK(!fs::exists(left.dir / "vm.json"));
}

TEST_CASE("a VM recorded before the host rebooted names no process to adopt or stop", "[vmm][unit]") {
  LeftVm left;
  auto lease = switchyard::tunnel::ListenUnix((left.dir / "manager.sock").string());
  REQUIRE(lease.ok());
  left.Record("00000000-0000-0000-0000-000000000000", left.Args());
  switchyard::vmm::SandboxDriver driver;
  CHECK(!driver.Adopt(left.spec));
  // Its pids may name strangers now: they are left alone.
  CHECK(::kill(left.agent, 0) == 0);
  CHECK(::kill(left.slirp, 0) == 0);
  CHECK(::waitpid(left.agent, nullptr, WNOHANG) == 0);
  CHECK(!fs::exists(left.dir / "vm.json"));
  ::close(*lease);
}
