// A container that shares namespaces with containers of two groups: one
// group when they live on one backend, a clear error when they do not.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "tests/unit/scheduler/two_vms.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

const char kA[] = "a000000000000000000000000000000000000000000000000000000000000001";
const char kB[] = "b000000000000000000000000000000000000000000000000000000000000002";
const char kNew[] = "c000000000000000000000000000000000000000000000000000000000000003";

// Containers A and B, each alone in its group, A in hv and B in `b_backend`.
void TwoLoneContainers(TwoVms& vms, const std::string& b_backend) {
  FakeBackendClient* b_vm = b_backend == "hv" ? vms.hv : vms.vz;
  vms.hv->Answer("GET /containers/A/json", 200, json{{"Id", kA}, {"Name", "/A"}}.dump());
  b_vm->Answer("GET /containers/B/json", 200, json{{"Id", kB}, {"Name", "/B"}}.dump());
  for (const auto& [group, backend, id, name] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"lone:aaa", "hv", kA, "A"}, {"lone:bbb", b_backend, kB, "B"}}) {
    REQUIRE(vms.store->PutGroup({group, backend, "test", false, 0}).ok());
    REQUIRE(vms.store->PutWorkload({id, name, backend, group, "", "test", 0}).ok());
  }
  vms.hv->Answer("POST /v1.41/containers/create", 201, json{{"Id", kNew}, {"Warnings", json::array()}}.dump());
}

const char kBody[] = R"({"Image":"busybox","HostConfig":{"VolumesFrom":["A","B:ro"]}})";

TEST_CASE("volumes from two groups on one backend make one group", "[scheduler][unit]") {
  TwoVms vms;
  TwoLoneContainers(vms, "hv");
  auto reply = vms.core->CreateContainer("1.41", "", "", kBody);
  REQUIRE(reply.ok());
  REQUIRE(reply->status == 201);
  auto created = vms.store->GetWorkload(kNew);
  REQUIRE(created.ok());
  CHECK(created->backend == "hv");
  for (const char* id : {kA, kB}) CHECK(vms.store->GetWorkload(id)->group_id == created->group_id);
  CHECK(vms.store->ListWorkloadsInGroup(created->group_id)->size() == 3);
  const std::string gone = created->group_id == "lone:aaa" ? "lone:bbb" : "lone:aaa";
  CHECK(absl::IsNotFound(vms.store->GetGroup(gone).status()));
}

TEST_CASE("volumes from two groups on two backends are refused, naming both", "[scheduler][unit]") {
  TwoVms vms;
  TwoLoneContainers(vms, "vz");
  auto reply = vms.core->CreateContainer("1.41", "", "", kBody);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == absl::StatusCode::kInvalidArgument);
  const std::string message(reply.status().message());
  CHECK(absl::StrContains(message, "lone:aaa on backend hv"));
  CHECK(absl::StrContains(message, "lone:bbb on backend vz"));
  CHECK(vms.store->GetWorkload(kA)->group_id == "lone:aaa");
  CHECK(vms.store->GetWorkload(kB)->group_id == "lone:bbb");
}

}  // namespace
}  // namespace switchyard::scheduler
