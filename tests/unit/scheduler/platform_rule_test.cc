// Issue 17: one arch-and-variant rule for load, pull, create and build.
// Each platform goes through every way a workload or an image is placed,
// on this machine's table and on the Mac's, and all of them must agree.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "libs/placement/platform.h"
#include "services/scheduler/backend_views.h"
#include "services/scheduler/image_platforms.h"
#include "services/scheduler/placer.h"
#include "tests/fakes/fake_backend_client.h"

namespace switchyard::scheduler {
namespace {

struct Table {
  const char* name;
  const char* native;       // the host's arch
  const char* kernel_arch;  // uname of both VMs
  std::vector<std::string> vz_translators;
};

// The backend every path chose, or "error" when each refused.
std::string Agreed(const Table& table, const std::string& platform) {
  FakeBackendClient hv("hv", table.kernel_arch);
  FakeBackendClient vz("vz", table.kernel_arch, table.vz_translators);
  absl::StatusOr<placement::Platform> parsed = placement::ParsePlatform(platform);
  REQUIRE(parsed.ok());
  // The image only hv holds so far, as an archive just loaded there would be.
  hv.Answer("GET /images/app%3A1/json", 200,
            nlohmann::json{{"Architecture", parsed->architecture}, {"Variant", parsed->variant}}.dump());
  BackendViews views(&hv, &vz);
  ImagePlatforms images({&hv, &vz}, nullptr);
  PlacerSettings settings;
  settings.routing.native_arch = table.native;
  Placer placer(settings, &views, &images,
                {[](const std::string& id) { return placement::GroupState{id}; },
                 [](const std::string&) -> absl::StatusOr<std::string> { return absl::NotFoundError("none"); }});

  std::vector<std::pair<std::string, absl::StatusOr<placement::Decision>>> paths;
  paths.emplace_back("load", placer.PlaceArch(parsed->architecture));
  paths.emplace_back("pull --platform", placer.PlacePull(platform, "app:1"));
  auto created = placer.Place(platform, nlohmann::json{{"Image", "app:1"}});
  paths.emplace_back("create --platform",
                     created.ok() ? absl::StatusOr<placement::Decision>(created->decision) : created.status());
  auto local = placer.Place("", nlohmann::json{{"Image", "app:1"}});
  paths.emplace_back("create of the local image",
                     local.ok() ? absl::StatusOr<placement::Decision>(local->decision) : local.status());
  paths.emplace_back("build FROM --platform", placer.PlaceBuild({{platform, "app:1"}}));

  std::string agreed;
  for (const auto& [path, decided] : paths) {
    INFO(table.name << " " << platform << ": " << path << ": "
                    << (decided.ok() ? decided->rule : decided.status().ToString()));
    std::string backend = decided.ok() ? decided->backend : "error";
    if (!decided.ok()) CHECK(decided.status().code() == absl::StatusCode::kFailedPrecondition);
    if (agreed.empty()) agreed = backend;
    CHECK(backend == agreed);
  }
  return agreed;
}

}  // namespace

TEST_CASE("load, pull, create and build place every arch and variant alike", "[scheduler][placement][unit]") {
  const Table here{"this machine", "amd64", "x86_64", {"qemu-aarch64", "qemu-arm"}};
  const Table mac{"Mac", "arm64", "aarch64", {"rosetta"}};
  const Table mac_with_qemu_arm{"Mac with qemu-arm in vz", "arm64", "aarch64", {"rosetta", "qemu-arm"}};
  struct Row {
    const Table& table;
    const char* platform;
    const char* want;
  };
  const Row rows[] = {
      {here, "linux/amd64", "hv"},       {here, "linux/386", "hv"},        {here, "linux/arm64/v8", "vz"},
      {here, "linux/arm/v7", "vz"},      {here, "linux/armhf", "vz"},      {here, "linux/arm/v6", "vz"},
      // Apple silicon runs no AArch32 and Rosetta runs only x86-64.
      {mac, "linux/arm64", "hv"},        {mac, "linux/amd64", "vz"},       {mac, "linux/arm/v7", "error"},
      {mac, "linux/arm/v6", "error"},    {mac, "linux/386", "error"},
      {mac_with_qemu_arm, "linux/arm/v7", "vz"}, {mac_with_qemu_arm, "linux/arm64/v8", "hv"},
  };
  for (const Row& row : rows) {
    INFO(row.table.name << ": " << row.platform);
    CHECK(Agreed(row.table, row.platform) == row.want);
  }
}

TEST_CASE("an arch neither VM runs is refused naming the platform with its variant", "[scheduler][placement][unit]") {
  FakeBackendClient hv("hv", "aarch64");
  FakeBackendClient vz("vz", "aarch64", {"rosetta"});
  BackendViews views(&hv, &vz);
  ImagePlatforms images({&hv, &vz}, nullptr);
  PlacerSettings settings;
  settings.routing.native_arch = "arm64";
  Placer placer(settings, &views, &images, {});
  auto pulled = placer.PlacePull("linux/armhf", "app:1");
  REQUIRE_FALSE(pulled.ok());
  CHECK(pulled.status().message() ==
        "cannot run --platform linux/armhf: linux/arm needs translation, but the translator on backend vz is "
        "missing (no translator for arm is registered in vz) and the fallback translator on backend hv is not "
        "configured (set translators.hv.fallback = true)");
}

}  // namespace switchyard::scheduler
