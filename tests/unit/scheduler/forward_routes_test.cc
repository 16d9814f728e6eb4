// The scheduler's routing of forwarded calls, over fake backends: no gRPC,
// no dockerd.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/unit/scheduler/two_vms.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

bool Called(FakeBackendClient& b, const std::string& method, const std::string& target) {
  for (const auto& [m, t] : b.calls()) {
    if (m == method && t == target) return true;
  }
  return false;
}

TEST_CASE("a commit goes to the VM of the container its query names", "[scheduler][unit]") {
  TwoVms vms;
  vms.WebInVz();
  auto route = vms.core->RouteForward("POST", "/v1.41/commit?container=web&repo=snap&tag=1");
  REQUIRE(route.ok());
  CHECK(route->backend == vms.vz);
  CHECK(route->target == "/v1.41/commit?container=web&repo=snap&tag=1");  // dockerd's messages echo the name
  CHECK(route->container_id == kWebId);
  CHECK_FALSE(route->handle_whole);

  // No VM holds it: the native dockerd answers as sent, in its own words.
  auto missing = vms.core->RouteForward("POST", "/v1.41/commit?container=nosuch");
  REQUIRE(missing.ok());
  CHECK(missing->backend == vms.hv);
  CHECK(missing->target == "/v1.41/commit?container=nosuch");

  // A VM that cannot be asked may hold it: not found, and why, rather than hv's 404.
  vms.vz->Fail(absl::UnavailableError("Socket closed"));
  auto partial = vms.core->RouteForward("POST", "/v1.41/containers/other/start");
  REQUIRE_FALSE(partial.ok());
  CHECK(absl::StrContains(partial.status().message(), "Socket closed"));
}

TEST_CASE("an endpoint dockerd does not have is its 404, with no backend asked", "[scheduler][unit]") {
  TwoVms vms;
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1.41/nosuch"}, {"PUT", "/containers/json"}, {"GET", "/containers/web/bogus"}}) {
    auto route = vms.core->RouteForward(method, target);
    REQUIRE_FALSE(route.ok());
    CHECK(route.status().code() == absl::StatusCode::kNotFound);
    CHECK(route.status().message() == "page not found");
  }
  CHECK(vms.hv->calls().empty());
  CHECK(vms.vz->calls().empty());
}

TEST_CASE("a link is removed in the VM of its parent, by its name", "[scheduler][unit]") {
  TwoVms vms;
  vms.WebInVz();
  auto route = vms.core->RouteForward("DELETE", "/v1.41/containers/web/db?link=1");
  REQUIRE(route.ok());
  CHECK(route->backend == vms.vz);
  CHECK(route->target == "/v1.41/containers/web/db?link=1");
  CHECK_FALSE(route->handle_whole);
}

TEST_CASE("prunes ask both VMs and answer one sum", "[scheduler][unit]") {
  TwoVms vms;
  vms.hv->Answer("POST /v1.41/containers/prune", 200, R"({"ContainersDeleted":["a1"],"SpaceReclaimed":10})");
  vms.vz->Answer("POST /v1.41/containers/prune", 200, R"({"ContainersDeleted":["b2","b3"],"SpaceReclaimed":5})");
  auto route = vms.core->RouteForward("POST", "/v1.41/containers/prune");
  REQUIRE(route.ok());
  REQUIRE(route->handle_whole);
  auto reply = vms.core->ForwardWhole(*route, "POST", "");
  REQUIRE(reply.ok());
  CHECK(reply->status == 200);
  CHECK(json::parse(reply->body) == json::parse(R"({"ContainersDeleted":["a1","b2","b3"],"SpaceReclaimed":15})"));

  // Nothing to prune anywhere: dockerd's null, not an empty list.
  vms.hv->Answer("POST /v1.41/images/prune", 200, R"({"ImagesDeleted":null,"SpaceReclaimed":0})");
  vms.vz->Answer("POST /v1.41/images/prune", 200, R"({"ImagesDeleted":null,"SpaceReclaimed":0})");
  route = vms.core->RouteForward("POST", "/v1.41/images/prune");
  REQUIRE(route.ok());
  reply = vms.core->ForwardWhole(*route, "POST", "");
  REQUIRE(reply.ok());
  CHECK(json::parse(reply->body) == json::parse(R"({"ImagesDeleted":null,"SpaceReclaimed":0})"));

  // A VM that cannot be asked fails the prune, by name.
  vms.hv->Answer("POST /v1.41/build/prune", 200, R"({"CachesDeleted":null,"SpaceReclaimed":0})");
  vms.vz->Fail(absl::UnavailableError("Socket closed"));
  route = vms.core->RouteForward("POST", "/v1.41/build/prune");
  REQUIRE(route.ok());
  reply = vms.core->ForwardWhole(*route, "POST", "");
  REQUIRE_FALSE(reply.ok());
  CHECK(absl::StrContains(reply.status().message(), "vz"));
}

TEST_CASE("system df counts both VMs", "[scheduler][unit]") {
  TwoVms vms;
  vms.hv->Answer("GET /system/df", 200,
                 R"({"LayersSize":100,"Images":[{"Id":"sha256:i1"},{"Id":"sha256:shared"}],
                     "Containers":[{"Id":"c1"}],"Volumes":[{"Name":"data"}],"BuildCache":null,"BuilderSize":0})");
  vms.vz->Answer("GET /system/df", 200,
                 R"({"LayersSize":50,"Images":[{"Id":"sha256:shared"}],"Containers":[{"Id":"c2"}],
                     "Volumes":[{"Name":"data"},{"Name":"logs"}],"BuildCache":[{"ID":"b1"}],"BuilderSize":7})");
  auto route = vms.core->RouteForward("GET", "/system/df");
  REQUIRE(route.ok());
  auto reply = vms.core->ForwardWhole(*route, "GET", "");
  REQUIRE(reply.ok());
  json df = json::parse(reply->body);
  CHECK(df["LayersSize"] == 150);
  CHECK(df["BuilderSize"] == 7);
  CHECK(df["Images"].size() == 2);
  CHECK(df["Containers"].size() == 2);
  CHECK(df["Volumes"].size() == 2);
  CHECK(df["BuildCache"].size() == 1);
}

TEST_CASE("a tag applies in every VM that holds the image", "[scheduler][unit]") {
  TwoVms vms;
  for (FakeBackendClient* b : {vms.hv, vms.vz}) {
    b->Answer("GET /v1.41/images/busybox/json", 200, R"({"Id":"sha256:b"})");
    b->Answer("POST /v1.41/images/busybox/tag", 201, "");
  }
  auto route = vms.core->RouteForward("POST", "/v1.41/images/busybox/tag?repo=mine&tag=1");
  REQUIRE(route.ok());
  auto reply = vms.core->ForwardWhole(*route, "POST", "");
  REQUIRE(reply.ok());
  CHECK(reply->status == 201);
  CHECK(Called(*vms.hv, "POST", "/v1.41/images/busybox/tag?repo=mine&tag=1"));
  CHECK(Called(*vms.vz, "POST", "/v1.41/images/busybox/tag?repo=mine&tag=1"));
}

TEST_CASE("swarm and plugins stay in the native VM; search asks one engine", "[scheduler][unit]") {
  TwoVms vms;
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/v1.41/swarm/init"}, {"GET", "/services"}, {"GET", "/plugins"},
           {"GET", "/images/search?term=x"}, {"POST", "/auth"}}) {
    INFO(method << " " << target);
    auto route = vms.core->RouteForward(method, target);
    REQUIRE(route.ok());
    CHECK(route->backend == vms.hv);
    CHECK(route->target == target);
  }
}

TEST_CASE("a build with a foreign platform goes to the translating VM", "[scheduler][unit]") {
  TwoVms vms;
  auto route = vms.core->RouteForward("POST", "/v1.41/build?platform=linux%2Farm64&t=x");
  REQUIRE(route.ok());
  CHECK(route->backend == vms.vz);
  route = vms.core->RouteForward("POST", "/v1.41/build?platform=linux%2Famd64");
  REQUIRE(route.ok());
  CHECK(route->backend == vms.hv);
}

TEST_CASE("rmi removes every copy, unless a container uses one", "[scheduler][unit]") {
  TwoVms vms;
  for (FakeBackendClient* b : {vms.hv, vms.vz}) {
    b->Answer("GET /v1.41/images/app/json", 200, R"({"Id":"sha256:a"})");
    b->Answer("GET /v1.41/containers/json", 200, "[]");
    b->Answer("DELETE /v1.41/images/app", 200, R"([{"Untagged":"app:latest"},{"Deleted":"sha256:a"}])");
  }
  auto route = vms.core->RouteForward("DELETE", "/v1.41/images/app");
  REQUIRE(route.ok());
  auto reply = vms.core->ForwardWhole(*route, "DELETE", "");
  REQUIRE(reply.ok());
  CHECK(reply->status == 200);
  CHECK(json::parse(reply->body).size() == 2);
  CHECK(Called(*vms.hv, "DELETE", "/v1.41/images/app"));
  CHECK(Called(*vms.vz, "DELETE", "/v1.41/images/app"));

  TwoVms in_use;
  for (FakeBackendClient* b : {in_use.hv, in_use.vz}) {
    b->Answer("GET /v1.41/images/app/json", 200, R"({"Id":"sha256:a"})");
    b->Answer("GET /v1.41/containers/json", 200, "[]");
  }
  in_use.vz->Answer("GET /v1.41/containers/json", 200, R"([{"Id":"c1"}])");
  in_use.vz->Answer("DELETE /v1.41/images/app", 409,
                    R"({"message":"conflict: unable to remove repository reference \"app\" (must force) - container c1 is using its referenced image a"})");
  route = in_use.core->RouteForward("DELETE", "/v1.41/images/app");
  REQUIRE(route.ok());
  reply = in_use.core->ForwardWhole(*route, "DELETE", "");
  REQUIRE(reply.ok());
  CHECK(reply->status == 409);
  CHECK_FALSE(Called(*in_use.hv, "DELETE", "/v1.41/images/app"));
}

}  // namespace
}  // namespace switchyard::scheduler
