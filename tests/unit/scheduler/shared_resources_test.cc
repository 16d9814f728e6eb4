#include "services/scheduler/shared_resources.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "libs/registry/sqlite_store.h"
#include "tests/fakes/fake_backend_client.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

TEST_CASE("a volume made in both VMs is inspected as the copy its create answered with", "[scheduler][unit]") {
  FakeBackendClient hv("hv", "x86_64"), vz("vz", "x86_64");
  for (FakeBackendClient* b : {&hv, &vz}) {
    const std::string mountpoint = "/var/lib/" + b->name() + "/volumes/data/_data";
    json volume = {{"Name", "data"}, {"Driver", "local"}, {"Mountpoint", mountpoint}};
    b->Answer("POST /v1.41/volumes/create", 201, volume.dump());
    b->Answer("GET /volumes/data", 200, volume.dump());
    b->Answer("GET /v1.41/volumes/data", 200, volume.dump());
  }
  auto store = registry::SqliteStore::Open(":memory:");
  REQUIRE(store.ok());
  SharedResources resources({&hv, &vz}, store->get(),
                            [](const std::string&) { return absl::NotFoundError("no containers here"); });

  auto created = resources.Volumes("POST", "/v1.41/volumes/create", R"({"Name":"data"})");
  REQUIRE(created.ok());
  REQUIRE(created->status == 201);
  auto inspected = resources.Volumes("GET", "/v1.41/volumes/data", "");
  REQUIRE(inspected.ok());
  CHECK(json::parse(inspected->body)["Mountpoint"] == json::parse(created->body)["Mountpoint"]);

  // Once a container in vz uses it, vz's copy is the volume.
  vz.Answer("GET /containers/json", 200, "[]");
  hv.Answer("GET /containers/json", 200, "[]");
  hv.Answer("DELETE /volumes/data", 204, "");
  REQUIRE((*store)->PutGroup({"lone:abc", "vz", "test", false, 0}).ok());
  resources.Settle(json::parse(R"({"HostConfig":{"Binds":["data:/data"]}})"), vz, "lone:abc");
  inspected = resources.Volumes("GET", "/v1.41/volumes/data", "");
  REQUIRE(inspected.ok());
  CHECK(json::parse(inspected->body)["Mountpoint"] == "/var/lib/vz/volumes/data/_data");
}

TEST_CASE("an overlay network is made in the native VM alone, where the swarm is", "[scheduler][unit]") {
  FakeBackendClient hv("hv", "x86_64"), vz("vz", "x86_64");
  hv.Answer("POST /v1.41/networks/create", 201, R"({"Id":"n1","Warning":""})");
  vz.Answer("POST /v1.41/networks/create", 503, R"({"message":"This node is not a swarm manager."})");
  auto store = registry::SqliteStore::Open(":memory:");
  REQUIRE(store.ok());
  SharedResources resources({&hv, &vz}, store->get(),
                            [](const std::string&) { return absl::NotFoundError("no containers here"); });
  auto created = resources.Networks("POST", "/v1.41/networks/create",
                                    R"({"Name":"web","Driver":"overlay","Attachable":true})");
  REQUIRE(created.ok());
  CHECK(created->status == 201);
  CHECK(vz.calls().empty());
}

}  // namespace
}  // namespace switchyard::scheduler
