#include "libs/docker_text/container_status.h"

#include <catch2/catch.hpp>

namespace switchyard::docker_text {
namespace {

TEST_CASE("durations read as dockerd writes them (go-units HumanDuration)", "[docker_text][unit]") {
  CHECK(HumanDuration(absl::Milliseconds(400)) == "Less than a second");
  CHECK(HumanDuration(absl::Seconds(1)) == "1 second");
  CHECK(HumanDuration(absl::Seconds(59)) == "59 seconds");
  CHECK(HumanDuration(absl::Seconds(60)) == "About a minute");
  CHECK(HumanDuration(absl::Seconds(119)) == "About a minute");
  CHECK(HumanDuration(absl::Minutes(2)) == "2 minutes");
  CHECK(HumanDuration(absl::Minutes(59)) == "59 minutes");
  CHECK(HumanDuration(absl::Minutes(60)) == "About an hour");
  CHECK(HumanDuration(absl::Minutes(89)) == "About an hour");
  CHECK(HumanDuration(absl::Minutes(90)) == "2 hours");  // hours are rounded
  CHECK(HumanDuration(absl::Hours(47)) == "47 hours");
  CHECK(HumanDuration(absl::Hours(48)) == "2 days");
  CHECK(HumanDuration(absl::Hours(24 * 13)) == "13 days");
  CHECK(HumanDuration(absl::Hours(24 * 14)) == "2 weeks");
  CHECK(HumanDuration(absl::Hours(24 * 59)) == "8 weeks");
  CHECK(HumanDuration(absl::Hours(24 * 60)) == "2 months");
  CHECK(HumanDuration(absl::Hours(24 * 730)) == "2 years");
}

// State objects as dockerd 20.10's inspect writes them, with the Status
// column its `docker ps -a` showed at the same moment.
TEST_CASE("the Status column from a container's State", "[docker_text][unit]") {
  const absl::Time now = ParseDockerTime("2026-12-03T19:00:00.000000000Z");
  auto state = [](const char* text) { return nlohmann::json::parse(text); };
  CHECK(StatusText(state(R"({"Status":"created","Running":false,"Paused":false,"Restarting":false,"Dead":false,
      "ExitCode":0,"StartedAt":"0001-01-01T00:00:00Z","FinishedAt":"0001-01-01T00:00:00Z"})"), now) == "Created");
  CHECK(StatusText(state(R"({"Status":"exited","Running":false,"ExitCode":3,
      "StartedAt":"2026-12-03T18:54:10.5Z","FinishedAt":"2026-12-03T18:54:11.123456789Z"})"), now) ==
        "Exited (3) 5 minutes ago");
  CHECK(StatusText(state(R"({"Status":"running","Running":true,"Paused":false,"Restarting":false,
      "StartedAt":"2026-12-03T16:00:00Z","FinishedAt":"0001-01-01T00:00:00Z"})"), now) == "Up 3 hours");
  CHECK(StatusText(state(R"({"Status":"paused","Running":true,"Paused":true,
      "StartedAt":"2026-12-03T18:59:30Z"})"), now) == "Up 30 seconds (Paused)");
  CHECK(StatusText(state(R"({"Status":"restarting","Running":true,"Restarting":true,"ExitCode":1,
      "StartedAt":"2026-12-03T18:59:58Z","FinishedAt":"2026-12-03T18:59:59Z"})"), now) ==
        "Restarting (1) 1 second ago");
  CHECK(StatusText(state(R"({"Status":"running","Running":true,"StartedAt":"2026-12-03T18:58:00Z",
      "Health":{"Status":"starting"}})"), now) == "Up 2 minutes (health: starting)");
  CHECK(StatusText(state(R"({"Status":"running","Running":true,"StartedAt":"2026-12-01T19:00:00Z",
      "Health":{"Status":"healthy"}})"), now) == "Up 2 days (healthy)");
  CHECK(StatusText(state(R"({"Status":"dead","Running":false,"Dead":true,"StartedAt":"2026-12-03T18:00:00Z"})"), now) ==
        "Dead");
  CHECK(StatusText(state(R"({"Status":"removing","Running":false,"StartedAt":"2026-12-03T18:00:00Z"})"), now) ==
        "Removal In Progress");
}

}  // namespace
}  // namespace switchyard::docker_text
