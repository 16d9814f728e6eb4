#include "libs/vmm/hypervisor_driver.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "libs/vmm/mac_drivers.h"
#include "libs/vmm/vm_record.h"

namespace switchyard::vmm {
namespace {
namespace fs = std::filesystem;

// A stand-in hypervisor: records its command line and runs until signalled.
struct FakeHypervisor {
  FakeHypervisor() {
    dir = fs::temp_directory_path() / ("sy-hyp-" + std::to_string(::getpid()));
    fs::create_directories(dir / "state");
    binary = (dir / "vfkit").string();
    std::ofstream(binary) << "#!/bin/sh\necho \"$@\" > " << (dir / "argv").string() << "\nexec sleep 600\n";
    ::chmod(binary.c_str(), 0755);
  }
  ~FakeHypervisor() { fs::remove_all(dir); }
  MacDriverOptions Options(int cpus = 2) const {
    MacDriverOptions options;
    options.binary = binary;
    options.image_dir = (dir / "image").string();
    options.cpus = cpus;
    options.disk_gib = 3;
    options.translators = {"rosetta"};
    return options;
  }
  VmSpec Spec() const {
    VmSpec spec;
    spec.backend = "vz";
    spec.state_dir = (dir / "state").string();
    return spec;
  }
  fs::path dir;
  std::string binary;
};

// Running: not gone, and not a zombie (an adopted process is nobody's
// child here, so nobody reaps it).
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  return !line.empty() && line.find(") Z ") == std::string::npos;
}

TEST_CASE("a hypervisor VM boots, is adopted by the next manager, and stops", "[vmm][hypervisor]") {
  FakeHypervisor fake;
  VmSpec spec = fake.Spec();
  VfkitDriver first(fake.Options());
  REQUIRE(first.Boot(spec).ok());
  const pid_t pid = first.Pid();
  REQUIRE(pid > 0);
  CHECK(first.IsRunning());
  CHECK(first.Accelerator() == "Virtualization.framework");
  CHECK(first.AgentEndpoint() == spec.state_dir + "/agent.sock");
  // A sparse data disk of the configured size, and a record of the VM.
  struct stat st {};
  REQUIRE(::stat((spec.state_dir + "/data.img").c_str(), &st) == 0);
  CHECK(st.st_size == 3ll << 30);
  CHECK(st.st_blocks * 512 < (1 << 20));
  absl::StatusOr<VmRecord> record = ReadVmRecord(spec.state_dir + "/vm.json");
  REQUIRE(record.ok());
  CHECK(record->agent_pid == pid);
  CHECK(record->agent_args.front() == fake.binary);

  // The manager dies (its driver goes, the VM stays); the next one adopts it.
  { VfkitDriver gone = std::move(first); }
  CHECK(Alive(pid));
  VfkitDriver second(fake.Options());
  REQUIRE(second.Adopt(spec));
  CHECK(second.Pid() == pid);
  CHECK(second.IsRunning());

  // Without an agent to ask, Stop ends the hypervisor after the grace.
  REQUIRE(second.Stop(absl::Milliseconds(200)).ok());
  CHECK_FALSE(second.IsRunning());
  CHECK(second.Pid() == 0);
  for (int i = 0; i < 50 && Alive(pid); ++i) ::usleep(20 * 1000);
  CHECK_FALSE(Alive(pid));
  CHECK_FALSE(fs::exists(spec.state_dir + "/vm.json"));
  CHECK(fs::exists(spec.state_dir + "/data.img"));  // the VM's disk stays
}

TEST_CASE("a VM left running for another configuration is stopped, not adopted", "[vmm][hypervisor]") {
  FakeHypervisor fake;
  VmSpec spec = fake.Spec();
  pid_t pid = 0;
  {
    VfkitDriver first(fake.Options(/*cpus=*/2));
    REQUIRE(first.Boot(spec).ok());
    pid = first.Pid();
  }
  VfkitDriver other(fake.Options(/*cpus=*/4));
  CHECK_FALSE(other.Adopt(spec));
  for (int i = 0; i < 50 && Alive(pid); ++i) ::usleep(20 * 1000);
  CHECK_FALSE(Alive(pid));
}

TEST_CASE("a hypervisor that exits at once fails the boot with what it said", "[vmm][hypervisor]") {
  FakeHypervisor fake;
  std::ofstream(fake.binary) << "#!/bin/sh\necho 'vfkit: kernel must be uncompressed' >&2\nexit 1\n";
  VfkitDriver driver(fake.Options());
  absl::Status booted = driver.Boot(fake.Spec());
  CHECK(absl::IsUnavailable(booted));
  CHECK(std::string(booted.message()) == "vfkit exited with status 1: vfkit: kernel must be uncompressed");
}

TEST_CASE("krunkit without its network says what it needs", "[vmm][hypervisor]") {
  FakeHypervisor fake;
  KrunkitDriver driver(fake.Options());
  CHECK(driver.Boot(fake.Spec()).message() == "krunkit has no NAT: it needs a gvproxy or passt network socket");
  CHECK(StableMac("/a") == StableMac("/a"));
  CHECK(StableMac("/a") != StableMac("/b"));
  CHECK(StableMac("/a").rfind("5a:94:ef:", 0) == 0);
}

TEST_CASE("krunkit boots its own copy of the image's EFI disk and its settings disk", "[vmm][hypervisor]") {
  FakeHypervisor fake;
  MacDriverOptions options = fake.Options();
  options.translators.clear();
  options.network_socket = (fake.dir / "gvproxy.sock").string();
  fs::create_directories(options.image_dir);
  std::ofstream(options.image_dir + "/efi.img") << "EFI DISK v1";
  VmSpec spec = fake.Spec();
  {
    KrunkitDriver driver(options);
    REQUIRE(driver.Boot(spec).ok());
    REQUIRE(driver.Stop(absl::Milliseconds(200)).ok());
  }
  std::ifstream copy(spec.state_dir + "/efi.img");
  CHECK(std::string(std::istreambuf_iterator<char>(copy), {}) == "EFI DISK v1");
  std::ifstream settings_file(spec.state_dir + "/settings.img");
  std::string settings(std::istreambuf_iterator<char>(settings_file), {});
  CHECK(settings.size() == 4096);
  CHECK(settings.rfind("#switchyard-settings\nsy_hostname=vz\nsy_agent_args=", 0) == 0);
  CHECK(settings.find("sy_data_disk=/dev/vdb\n") != std::string::npos);
  std::ifstream argv_file(fake.dir / "argv");
  std::string argv(std::istreambuf_iterator<char>(argv_file), {});
  CHECK(argv.find("virtio-blk,path=" + spec.state_dir + "/efi.img --device virtio-blk,path=" + spec.state_dir +
                  "/data.img") != std::string::npos);
  CHECK(argv.find("virtio-blk,path=" + spec.state_dir + "/settings.img") != std::string::npos);

  // A new image is copied again at the next boot.
  std::ofstream(options.image_dir + "/efi.img") << "EFI DISK v2";
  KrunkitDriver again(options);
  REQUIRE(again.Boot(spec).ok());
  REQUIRE(again.Stop(absl::Milliseconds(200)).ok());
  std::ifstream second(spec.state_dir + "/efi.img");
  CHECK(std::string(std::istreambuf_iterator<char>(second), {}) == "EFI DISK v2");
}

}  // namespace
}  // namespace switchyard::vmm
