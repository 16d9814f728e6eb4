#include "libs/run_dir/run_dir.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace switchyard::run_dir {
namespace {

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("the run directory is made private and never opened wider than passage for its group",
          "[run_dir][unit]") {
  char base_template[] = "/tmp/sy-rundir-XXXXXX";
  const std::string base = ::mkdtemp(base_template);
  const std::string dir = base + "/a/run";

  REQUIRE(Prepare(dir).ok());
  CHECK(ModeOf(dir) == 0700);

  // The gateway's grant to the socket's group survives every later start.
  REQUIRE(::chmod(dir.c_str(), 0710) == 0);
  REQUIRE(Prepare(dir).ok());
  CHECK(ModeOf(dir) == 0710);

  // Anything wider is closed: no listing, no writes, nothing for others.
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  REQUIRE(Prepare(dir).ok());
  CHECK(ModeOf(dir) == 0710);

  CHECK_FALSE(Prepare("/proc/self/no/such/dir").ok());
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace switchyard::run_dir
