#include "libs/registry/reconcile.h"

#include <catch2/catch.hpp>

#include "libs/registry/sqlite_store.h"

using switchyard::registry::ApplyReconcile;
using switchyard::registry::GroupRecord;
using switchyard::registry::ObservedContainer;
using switchyard::registry::PlanReconcile;
using switchyard::registry::SqliteStore;
using switchyard::registry::WorkloadRecord;

namespace {

ObservedContainer Seen(const std::string& id, const std::string& backend, const std::string& group = "") {
  ObservedContainer c{id, "n-" + id, backend, {}, 5};
  if (!group.empty()) {
    c.labels["io.switchyard.group"] = group;
    c.labels["io.switchyard.rule"] = "placed by rule R";
  }
  return c;
}

WorkloadRecord Recorded(const std::string& id, const std::string& backend, const std::string& group) {
  return {id, "n-" + id, backend, group, "", "rule", 5};
}

}  // namespace

TEST_CASE("reconcile plans by table", "[registry]") {
  struct Row {
    const char* what;
    std::vector<WorkloadRecord> recorded;
    std::vector<ObservedContainer> observed;
    std::vector<std::string> answered;
    size_t add, remove, update, groups;
  };
  const std::vector<Row> rows = {
      {"in sync", {Recorded("a", "hv", "lone:a")}, {Seen("a", "hv")}, {"hv", "vz"}, 0, 0, 0, 0},
      {"created behind our back is adopted", {}, {Seen("b", "vz", "pod:p")}, {"hv", "vz"}, 1, 0, 0, 1},
      {"removed behind our back is forgotten", {Recorded("a", "hv", "lone:a")}, {}, {"hv", "vz"}, 0, 1, 0, 0},
      {"a backend that is down keeps its records", {Recorded("a", "vz", "lone:a")}, {}, {"hv"}, 0, 0, 0, 0},
      {"the guest is the truth for backend and name", {Recorded("a", "hv", "lone:a")}, {Seen("a", "vz")},
       {"hv", "vz"}, 0, 0, 1, 0},
      {"a container reported twice is adopted once", {}, {Seen("c", "hv"), Seen("c", "hv")}, {"hv"}, 1, 0, 0, 1},
  };
  for (const Row& row : rows) {
    SECTION(row.what) {
      std::vector<GroupRecord> groups = {{"lone:a", "hv", "r", false, 0}};
      auto plan = PlanReconcile(row.recorded, row.observed, row.answered, groups);
      CHECK(plan.to_add.size() == row.add);
      CHECK(plan.to_remove.size() == row.remove);
      CHECK(plan.to_update.size() == row.update);
      CHECK(plan.groups_to_create.size() == row.groups);
    }
  }
}

TEST_CASE("adopted containers keep the group and rule of their labels", "[registry]") {
  auto plan = PlanReconcile({}, {Seen("b", "vz", "pod:p"), Seen("c", "hv")}, {"hv", "vz"}, {});
  REQUIRE(plan.to_add.size() == 2);
  CHECK(plan.to_add[0].group_id == "pod:p");
  CHECK(plan.to_add[0].rule == "placed by rule R");
  CHECK(plan.to_add[1].group_id == "lone:c");
  CHECK(plan.to_add[1].rule.find("adopted") != std::string::npos);
}

TEST_CASE("applying a plan twice changes nothing the second time", "[registry]") {
  auto opened = SqliteStore::Open(":memory:");
  REQUIRE(opened.ok());
  auto& store = **opened;
  REQUIRE(store.PutGroup({"pod:gone", "hv", "r", false, 0}).ok());
  REQUIRE(store.PutWorkload(Recorded("old", "hv", "pod:gone")).ok());
  const std::vector<ObservedContainer> observed = {Seen("new", "vz", "pod:p")};
  auto plan = PlanReconcile(*store.ListWorkloads(), observed, {"hv", "vz"}, *store.ListGroups());
  REQUIRE(ApplyReconcile(store, plan).ok());
  CHECK(store.GetWorkload("new")->backend == "vz");
  CHECK_FALSE(store.GetWorkload("old").ok());
  CHECK_FALSE(store.GetGroup("pod:gone").ok());  // emptied by the removal
  CHECK(store.GetGroup("pod:p")->backend == "vz");

  auto again = PlanReconcile(*store.ListWorkloads(), observed, {"hv", "vz"}, *store.ListGroups());
  CHECK(again.to_add.empty());
  CHECK(again.to_remove.empty());
  CHECK(again.to_update.empty());
  CHECK(again.groups_to_create.empty());
  CHECK(store.ListWorkloads()->size() == 1);
}
