#include "libs/vmm/vm_record.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

namespace switchyard::vmm {
namespace {
namespace fs = std::filesystem;

TEST_CASE("a VM record reads back as written", "[vmm][unit]") {
  fs::path dir = fs::temp_directory_path() / ("sy-vm-record-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "vm.json").string();
  CHECK(absl::IsNotFound(ReadVmRecord(path).status()));

  VmRecord record{"8a1c1f4e-boot", 1234, 987654321, 1240, 987654400,
                  {"/usr/bin/agent", "--backend=hv", "--bip=10.0.0.1/24"}};
  REQUIRE(WriteVmRecord(path, record).ok());
  absl::StatusOr<VmRecord> read = ReadVmRecord(path);
  REQUIRE(read.ok());
  CHECK(read->boot_id == "8a1c1f4e-boot");
  CHECK(read->agent_pid == 1234);
  CHECK(read->agent_start == 987654321);
  CHECK(read->slirp_pid == 1240);
  CHECK(read->slirp_start == 987654400);
  CHECK(read->agent_args == record.agent_args);
  CHECK(!fs::exists(path + ".tmp"));
  fs::remove_all(dir);
}

TEST_CASE("a damaged VM record is an error, not a VM to adopt", "[vmm][unit]") {
  CHECK(!ParseVmRecord("").ok());
  CHECK(!ParseVmRecord(R"({"agent_pid": 12)").ok());
  CHECK(!ParseVmRecord(R"({"boot_id": "b", "agent_pid": "12", "agent_start": 1, "slirp_pid": 2, "slirp_start": 3, "agent_args": []})")
             .ok());
  CHECK(!ParseVmRecord(R"({"boot_id": "b", "agent_pid": 0, "agent_start": 1, "slirp_pid": 2, "slirp_start": 3, "agent_args": []})")
             .ok());
}

TEST_CASE("start time is counted after the last parenthesis of the command name", "[vmm][unit]") {
  // Field 22 (start time) is 4711; the command name holds ") (" and spaces.
  const std::string stat =
      "42 (a) b (c d) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4711 1000 200 18446744073709551615";
  absl::StatusOr<uint64_t> start = StartTimeOfStatLine(stat);
  REQUIRE(start.ok());
  CHECK(*start == 4711);
  CHECK(!StartTimeOfStatLine("42 (short) S 1 2").ok());
}

TEST_CASE("this process is itself by start time, and a wrong start time is another process", "[vmm][unit]") {
  absl::StatusOr<uint64_t> mine = ProcessStartTime(::getpid());
  REQUIRE(mine.ok());
  CHECK(IsSameProcess(::getpid(), *mine));
  CHECK(!IsSameProcess(::getpid(), *mine + 1));
  CHECK(absl::IsNotFound(ProcessStartTime(0).status()));
  CHECK(CurrentBootId().size() == 36);  // a UUID
}

}  // namespace
}  // namespace switchyard::vmm
