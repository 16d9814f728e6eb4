#include "services/vmm/idle_rules.h"

#include <catch2/catch.hpp>

namespace switchyard::vmm {
namespace {

TEST_CASE("a VM stops only when nothing has kept it up for the idle time", "[vmm][unit]") {
  const absl::Duration idle = absl::Minutes(5);
  VmActivity quiet{0, absl::Minutes(6), 0, 0};
  REQUIRE(IdleStopReason(quiet, idle).has_value());
  CHECK(*IdleStopReason(quiet, idle) ==
        "idle for 5m: no running container and no call, exec, build, attach or log stream");

  VmActivity recent = quiet;
  recent.since_last_call = absl::Minutes(4);
  CHECK_FALSE(IdleStopReason(recent, idle));

  VmActivity streaming = quiet;  // an attach, exec, log stream or build in flight
  streaming.calls_in_flight = 1;
  CHECK_FALSE(IdleStopReason(streaming, idle));

  VmActivity running = quiet;  // dockerd counts a restarting container as running
  running.containers_running = 1;
  CHECK_FALSE(IdleStopReason(running, idle));

  VmActivity paused = quiet;
  paused.containers_paused = 1;
  CHECK_FALSE(IdleStopReason(paused, idle));

  VmActivity unknown = quiet;  // the guest did not say: keep it up
  unknown.containers_running = -1;
  CHECK_FALSE(IdleStopReason(unknown, idle));

  CHECK_FALSE(IdleStopReason(quiet, absl::ZeroDuration()));  // idle stop off
  CHECK_FALSE(MayBeIdle(0, absl::Hours(1), absl::ZeroDuration()));
  CHECK(MayBeIdle(0, absl::Minutes(5), idle));
}

}  // namespace
}  // namespace switchyard::vmm
