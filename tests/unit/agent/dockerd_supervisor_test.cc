#include "guest-agent/dockerd_supervisor.h"

#include <catch2/catch.hpp>

using switchyard::agent::DockerdConfig;

TEST_CASE("dockerd args keep everything under the state dir", "[agent][unit]") {
  DockerdConfig c;
  c.state_dir = "/var/lib/switchyard/vms/hv";
  c.bip = "172.30.0.1/24";
  c.default_address_pool = "172.31.0.0/16";
  c.cgroup_parent = "/switchyard-hv";
  c.insecure_registries = {"127.0.0.1:5000", "localhost:5001"};
  auto args = switchyard::agent::DockerdArgs(c);
  REQUIRE(args == std::vector<std::string>{
                      "/usr/sbin/dockerd",
                      "--data-root=/var/lib/switchyard/vms/hv/docker",
                      "--exec-root=/var/lib/switchyard/vms/hv/exec",
                      "--host=unix:///var/lib/switchyard/vms/hv/docker.sock",
                      "--pidfile=/var/lib/switchyard/vms/hv/docker.pid",
                      "--config-file=/var/lib/switchyard/vms/hv/daemon.json",
                      "--bip=172.30.0.1/24",
                      "--default-address-pool=base=172.31.0.0/16,size=24",
                      "--cgroup-parent=/switchyard-hv",
                      "--insecure-registry=127.0.0.1:5000",
                      "--insecure-registry=localhost:5001",
                  });
}

TEST_CASE("dockerd args without optional settings", "[agent][unit]") {
  DockerdConfig c;
  c.state_dir = "/s";
  REQUIRE(switchyard::agent::DockerdArgs(c).size() == 6);
}

TEST_CASE("dockerd version parsing", "[agent][unit]") {
  REQUIRE(switchyard::agent::ParseDockerdVersion("Docker version 20.10.24+dfsg1, build 5d6db84\n") ==
          "20.10.24+dfsg1");
  REQUIRE(switchyard::agent::ParseDockerdVersion("garbage").empty());
  REQUIRE(*switchyard::agent::ParseVersionBody(R"({"Version":"20.10.24+dfsg1","ApiVersion":"1.41"})") ==
          "20.10.24+dfsg1");
  REQUIRE_FALSE(switchyard::agent::ParseVersionBody("not json").ok());
  REQUIRE_FALSE(switchyard::agent::ParseVersionBody(R"({"ApiVersion":"1.41"})").ok());
}

TEST_CASE("restart backoff doubles up to 30s", "[agent][unit]") {
  using switchyard::agent::RestartBackoff;
  REQUIRE(RestartBackoff(1) == absl::Seconds(1));
  REQUIRE(RestartBackoff(2) == absl::Seconds(2));
  REQUIRE(RestartBackoff(3) == absl::Seconds(4));
  REQUIRE(RestartBackoff(6) == absl::Seconds(30));
  REQUIRE(RestartBackoff(50) == absl::Seconds(30));
}
