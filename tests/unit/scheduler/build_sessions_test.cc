#include "services/scheduler/build_sessions.h"

#include <catch2/catch.hpp>
#include <thread>

namespace switchyard::scheduler {
namespace {

TEST_CASE("a session meets its build in either order; unclaimed, it is refused", "[scheduler][unit]") {
  BuildSessions sessions;
  // Build first: the session finds its backend at once.
  CHECK(sessions.Claim("s1", "vz") == "vz");
  CHECK(sessions.Await("s1", absl::ZeroDuration()) == "vz");

  // Session first: it waits until the build claims it.
  std::thread build([&] {
    absl::SleepFor(absl::Milliseconds(50));
    CHECK(sessions.Claim("s2", "vz") == "vz");
  });
  CHECK(sessions.Await("s2", absl::Seconds(10)) == "vz");
  build.join();

  // No build within the bound: no backend, and a build that names it
  // later runs where it should (BuildKit then reports the missing session).
  CHECK_FALSE(sessions.Await("s3", absl::Milliseconds(20)).has_value());
  CHECK(sessions.Claim("s3", "vz") == "vz");
}

}  // namespace
}  // namespace switchyard::scheduler
