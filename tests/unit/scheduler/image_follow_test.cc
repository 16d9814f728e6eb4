// Images follow their workloads: a create whose image lives only in the
// other VM copies it there (save, then load) and is made again.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "tests/unit/scheduler/two_vms.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

const char kNew[] = "d000000000000000000000000000000000000000000000000000000000000004";

// "app:1" lives in hv only; its archive is `archive`.
void AppInHv(TwoVms& vms, const std::string& arch, const std::string& archive = "TARBYTES") {
  vms.hv->Answer("GET /images/app%3A1/json", 200, json{{"Id", "sha256:app"}, {"Architecture", arch}}.dump());
  vms.hv->Answer("GET /images/app%3A1/get", 200, archive);
}

int CountCalls(FakeBackendClient& b, const std::string& method, const std::string& prefix) {
  int n = 0;
  for (const auto& [m, t] : b.calls()) n += m == method && absl::StartsWith(t, prefix);
  return n;
}

TEST_CASE("a create in vz copies an image that only hv holds, then succeeds", "[scheduler][unit]") {
  TwoVms vms;
  AppInHv(vms, "amd64");
  // A Compose project already on vz: the container goes there.
  REQUIRE(vms.store->PutGroup({"compose:shop", "vz", "test", true, 0}).ok());
  std::string loaded;
  vms.vz->Answer("POST /v1.41/containers/create", 404, R"({"message":"No such image: app:1"})");
  vms.vz->Answer("POST /images/load", 200, "{\"stream\":\"Loaded image: app:1\\n\"}\n");
  vms.vz->OnCall([&](const std::string& method, const std::string& target, const std::string& body) {
    if (method != "POST" || !absl::StartsWith(target, "/images/load")) return;
    loaded = body;
    vms.vz->Answer("GET /images/app%3A1/json", 200, R"({"Id":"sha256:app","Architecture":"amd64"})");
    vms.vz->Answer("POST /v1.41/containers/create", 201, json{{"Id", kNew}}.dump());
  });
  auto reply = vms.core->CreateContainer(
      "1.41", "", "", R"({"Image":"app:1","Labels":{"com.docker.compose.project":"shop"}})");
  REQUIRE(reply.ok());
  CHECK(reply->status == 201);
  CHECK(loaded == "TARBYTES");
  CHECK(CountCalls(*vms.vz, "POST", "/v1.41/containers/create") == 2);
  CHECK(vms.store->GetWorkload(kNew)->backend == "vz");
}

TEST_CASE("an image whose arch the target VM cannot run is refused, naming image, arch and VM",
          "[scheduler][unit]") {
  TwoVms vms;
  // An arm64 image that reached vz (a load) after the create was placed on
  // hv, which has no arm64 translator here.
  vms.hv->Answer("POST /v1.41/containers/create", 404, R"({"message":"No such image: app:1"})");
  vms.hv->OnCall([&](const std::string& method, const std::string& target, const std::string&) {
    if (method == "POST" && absl::StartsWith(target, "/v1.41/containers/create")) {
      vms.vz->Answer("GET /images/app%3A1/json", 200, R"({"Id":"sha256:app","Architecture":"arm64"})");
    }
  });
  auto reply = vms.core->CreateContainer("1.41", "", "", R"({"Image":"app:1"})");
  REQUIRE_FALSE(reply.ok());
  const std::string message(reply.status().message());
  INFO(message);
  CHECK(absl::StrContains(message, "app:1"));
  CHECK(absl::StrContains(message, "linux/arm64"));
  CHECK(absl::StrContains(message, "backend hv cannot run"));
  CHECK(CountCalls(*vms.hv, "POST", "/images/load") == 0);
}

TEST_CASE("a copy whose save fails loads nothing and the create gets a clear error", "[scheduler][unit]") {
  TwoVms vms;
  AppInHv(vms, "amd64");
  vms.hv->Answer("GET /images/app%3A1/get", 500, R"({"message":"write /var/lib/docker/tmp: no space left"})");
  REQUIRE(vms.store->PutGroup({"compose:shop", "vz", "test", true, 0}).ok());
  vms.vz->Answer("POST /v1.41/containers/create", 404, R"({"message":"No such image: app:1"})");
  auto reply = vms.core->CreateContainer(
      "1.41", "", "", R"({"Image":"app:1","Labels":{"com.docker.compose.project":"shop"}})");
  REQUIRE_FALSE(reply.ok());
  const std::string message(reply.status().message());
  CHECK(absl::StrContains(message, "copying image app:1 from backend hv to backend vz failed"));
  CHECK(absl::StrContains(message, "no space left"));
  CHECK(CountCalls(*vms.vz, "POST", "/images/load") == 0);
}

TEST_CASE("an image no VM holds is the engine's 404, for the client to pull", "[scheduler][unit]") {
  TwoVms vms;
  vms.hv->Answer("POST /v1.41/containers/create", 404, R"({"message":"No such image: nosuch:1"})");
  auto reply = vms.core->CreateContainer("1.41", "", "", R"({"Image":"nosuch:1"})");
  REQUIRE(reply.ok());
  CHECK(reply->status == 404);
}

TEST_CASE("a create asking another platform than the image's copies nothing", "[scheduler][unit]") {
  TwoVms vms;
  AppInHv(vms, "amd64");
  vms.vz->Answer("POST /v1.41/containers/create", 404, R"({"message":"No such image: app:1"})");
  auto reply = vms.core->CreateContainer("1.41", "", "linux/arm64", R"({"Image":"app:1"})");
  // dockerd's 404 (the gateway writes it so): the CLI pulls linux/arm64.
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == absl::StatusCode::kNotFound);
  CHECK(reply.status().message() ==
        "image with reference app:1 was found but does not match the specified platform: wanted linux/arm64, "
        "actual: linux/amd64");
  CHECK(CountCalls(*vms.vz, "POST", "/images/load") == 0);
}

TEST_CASE("a VM that holds the image for another platform answers the create itself", "[scheduler][unit]") {
  TwoVms vms;
  AppInHv(vms, "amd64");
  // vz holds app:1 as arm64/v8; the create names linux/arm64 and its
  // engine refuses it (a stand-in for any platform it does not serve).
  const std::string refusal =
      R"({"message":"image with reference app:1 was found but does not match the specified platform: wanted )"
      R"(linux/arm64, actual: linux/arm64/v8"})";
  vms.vz->Answer("GET /images/app%3A1/json", 200, R"({"Id":"sha256:v","Architecture":"arm64","Variant":"v8"})");
  vms.vz->Answer("POST /v1.41/containers/create", 404, refusal);
  auto reply = vms.core->CreateContainer("1.41", "", "linux/arm64", R"({"Image":"app:1"})");
  REQUIRE(reply.ok());
  CHECK(reply->status == 404);
  CHECK(reply->body == refusal);  // not hv's amd64 copy
  CHECK(CountCalls(*vms.hv, "GET", "/images/app%3A1/json") == 0);
}

}  // namespace
}  // namespace switchyard::scheduler
