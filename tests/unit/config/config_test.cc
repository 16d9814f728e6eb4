#include "libs/config/config.h"

#include <catch2/catch.hpp>

namespace switchyard::config {
namespace {

TEST_CASE("an empty config file gives the defaults, which validate", "[config]") {
  absl::StatusOr<Config> c = ParseConfig("{}", "switchyard.json");
  REQUIRE(c.ok());
  CHECK(c->run_dir == "/run/switchyard");
  CHECK(c->hv.bip == "10.210.0.1/24");
  CHECK(c->translators_vz_enabled);
  CHECK_FALSE(c->experimental_mixed_groups);
  // hv at once and always; vz when a workload needs it, stopped after 5 idle minutes.
  CHECK(c->hv.start == "eager");
  CHECK(c->hv.idle_stop_seconds == 0);
  CHECK(c->vz.start == "on-demand");
  CHECK(c->vz.idle_stop_seconds == 300);
}

TEST_CASE("every documented key is read", "[config]") {
  absl::StatusOr<Config> c = ParseConfig(R"({
    // comments are allowed
    "paths": {"run_dir": "/run/sy", "state_dir": "/srv/sy"},
    "socket_group": "docker", "native_arch": "arm64", "instance": "sy-test",
    "backends": {"hv": {"driver": "qemu", "bip": "10.1.0.1/24", "address_pool": "10.2.0.0/16",
                        "memory_mib": 4096, "cpus": 4, "disk_gib": 100},
                 "vz": {"bip": "10.3.0.1/24", "address_pool": "10.4.0.0/16", "start": "eager",
                        "idle_stop_seconds": 60}},
    "guest": {"image": "/srv/guest", "accelerator": "tcg", "boot": "efi", "shares": ["/srv/projects"]},
    "translators": {"vz_enabled": false, "hv_fallback": true},
    "experimental": {"mixed_groups": true}})",
                                         "f.json");
  REQUIRE(c.ok());
  CHECK(c->state_dir == "/srv/sy");
  CHECK(c->socket_group == "docker");
  CHECK(c->native_arch == "arm64");
  CHECK(c->vz.address_pool == "10.4.0.0/16");
  CHECK(c->vz.start == "eager");
  CHECK(c->vz.idle_stop_seconds == 60);
  CHECK_FALSE(c->translators_vz_enabled);
  CHECK(c->translators_hv_fallback);
  CHECK(c->experimental_mixed_groups);
  CHECK(c->hv.driver == "qemu");
  CHECK(c->hv.memory_mib == 4096);
  CHECK(c->hv.cpus == 4);
  CHECK(c->hv.disk_gib == 100);
  CHECK(c->vz.memory_mib == 2048);
  CHECK(c->guest.image == "/srv/guest");
  CHECK(c->guest.accelerator == "tcg");
  CHECK(c->guest.boot == "efi");
  CHECK(c->guest.shares == std::vector<std::string>{"/srv/projects"});
}

TEST_CASE("an invalid config names the key and the accepted values", "[config]") {
  struct Row {
    const char* text;
    const char* message;
  };
  const std::vector<Row> rows = {
      {"[1]", "f.json: (top level): must be an object"},
      {"{", "f.json: not valid JSON"},
      {R"({"colour": 1})", "f.json: colour: unknown key; accepted keys here: paths, socket_group, native_arch, "
                           "instance, backends, guest, translators, experimental"},
      {R"({"translators": {"vz_enabled": "yes"}})", "f.json: translators.vz_enabled: must be true or false"},
      {R"({"native_arch": "s390x"})",
       "f.json: native_arch: \"s390x\" is not accepted; accepted values: \"amd64\", \"arm64\", \"\" (this machine's)"},
      {R"({"backends": {"vz": {"driver": "vfkit"}}})",
       "f.json: backends.vz.driver: \"vfkit\" is not available on this host; accepted values: \"sandbox\", \"qemu\""},
      {R"({"guest": {"accelerator": "xen"}})",
       "f.json: guest.accelerator: \"xen\" is not accepted; accepted values: \"kvm\", \"hvf\", \"tcg\", \"\" (choose)"},
      {R"({"guest": {"boot": "bios"}})",
       "f.json: guest.boot: \"bios\" is not accepted; accepted values: \"kernel\", \"efi\""},
      {R"({"guest": {"shares": ["relative/dir"]}})",
       "f.json: guest.shares: \"relative/dir\" must be an absolute path without spaces, ',', '|' or '\"'"},
      {R"({"guest": {"shares": "/tmp"}})", "f.json: guest.shares: must be a list of strings"},
      {R"({"backends": {"hv": {"memory_mib": 100}}})", "f.json: backends.hv.memory_mib: must be at least 512 (MiB)"},
      {R"({"backends": {"hv": {"bip": "10.0.0.300/24"}}})",
       "f.json: backends.hv.bip: \"10.0.0.300/24\" is not an IPv4 CIDR such as \"10.210.0.1/24\" (prefix 8 to 30)"},
      {R"({"backends": {"vz": {"address_pool": "10.211.128.0/17"}}})",
       "f.json: backends.vz.address_pool: overlaps backends.hv.address_pool; container subnets must never overlap "
       "across VMs"},
      {R"({"paths": {"run_dir": "relative"}})", "f.json: paths.run_dir: must be an absolute path"},
      {R"({"backends": {"hv": {"memory": 2}}})",
       "f.json: backends.hv.memory: unknown key; accepted keys here: driver, bip, address_pool, start, "
       "idle_stop_seconds, memory_mib, cpus, disk_gib"},
      {R"({"backends": {"vz": {"start": "lazy"}}})",
       "f.json: backends.vz.start: \"lazy\" is not accepted; accepted values: \"eager\", \"on-demand\""},
      {R"({"backends": {"vz": {"idle_stop_seconds": -1}}})",
       "f.json: backends.vz.idle_stop_seconds: must be 0 (never) or a number of seconds"},
      {R"({"backends": {"vz": {"idle_stop_seconds": "5m"}}})", "f.json: backends.vz.idle_stop_seconds: must be an integer"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.text);
    absl::StatusOr<Config> c = ParseConfig(r.text, "f.json");
    REQUIRE(absl::IsInvalidArgument(c.status()));
    CHECK(c.status().message() == r.message);
  }
}

TEST_CASE("a missing config file is NotFound, naming it", "[config]") {
  absl::StatusOr<Config> c = LoadConfig("/nonexistent/switchyard.json");
  REQUIRE(absl::IsNotFound(c.status()));
  CHECK(c.status().message() == "/nonexistent/switchyard.json: cannot read the config file");
}

}  // namespace
}  // namespace switchyard::config

namespace switchyard::config {
namespace {

TEST_CASE("the documented config file holds exactly the defaults", "[config]") {
  absl::StatusOr<Config> documented = LoadConfig(SWITCHYARD_SOURCE_DIR "/deploy/switchyard.json");
  REQUIRE(documented.ok());
  const Config defaults;
  CHECK(documented->run_dir == defaults.run_dir);
  CHECK(documented->state_dir == defaults.state_dir);
  CHECK(documented->socket_group == defaults.socket_group);
  CHECK(documented->native_arch == defaults.native_arch);
  CHECK(documented->instance == defaults.instance);
  for (const auto& [doc, def] : {std::pair{documented->hv, defaults.hv}, std::pair{documented->vz, defaults.vz}}) {
    CHECK(doc.driver == def.driver);
    CHECK(doc.bip == def.bip);
    CHECK(doc.address_pool == def.address_pool);
    CHECK(doc.start == def.start);
    CHECK(doc.idle_stop_seconds == def.idle_stop_seconds);
    CHECK(doc.memory_mib == def.memory_mib);
    CHECK(doc.cpus == def.cpus);
    CHECK(doc.disk_gib == def.disk_gib);
  }
  CHECK(documented->guest.image == defaults.guest.image);
  CHECK(documented->guest.accelerator == defaults.guest.accelerator);
  CHECK(documented->guest.boot == defaults.guest.boot);
  CHECK(documented->guest.shares == defaults.guest.shares);
  CHECK(documented->translators_vz_enabled == defaults.translators_vz_enabled);
  CHECK(documented->translators_hv_fallback == defaults.translators_hv_fallback);
  CHECK(documented->experimental_mixed_groups == defaults.experimental_mixed_groups);
}

}  // namespace
}  // namespace switchyard::config
