#include "libs/registry/reconcile.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "libs/registry/sqlite_store.h"

using switchyard::registry::ApplyReconcile;
using switchyard::registry::GroupRecord;
using switchyard::registry::ObservedContainer;
using switchyard::registry::PlanReconcile;
using switchyard::registry::ReconcilePlan;
using switchyard::registry::SqliteStore;
using switchyard::registry::WorkloadRecord;

namespace {

using Ids = std::vector<std::string>;

// As the scheduler labels what it creates; no group means created behind its back.
ObservedContainer Seen(const std::string& id, const std::string& backend, const std::string& group = "") {
  ObservedContainer c{id, "n-" + id, backend, {}, 5};
  if (!group.empty()) {
    c.labels["io.switchyard.group"] = group;
    c.labels["io.switchyard.platform"] = "linux/amd64";
    c.labels["io.switchyard.rule"] = "placed by rule R";
  }
  return c;
}

ObservedContainer Renamed(ObservedContainer c, const std::string& name) {
  c.name = name;
  return c;
}

WorkloadRecord Recorded(const std::string& id, const std::string& backend, const std::string& group) {
  return {id, "n-" + id, backend, group, "", "rule", 5};
}

template <typename T, typename Key>
Ids Sorted(const std::vector<T>& items, Key key) {
  Ids out;
  for (const T& item : items) out.push_back(key(item));
  std::sort(out.begin(), out.end());
  return out;
}

Ids Added(const ReconcilePlan& p) { return Sorted(p.to_add, [](const auto& w) { return w.container_id; }); }
Ids Updated(const ReconcilePlan& p) { return Sorted(p.to_update, [](const auto& w) { return w.container_id; }); }
Ids Removed(const ReconcilePlan& p) { return Sorted(p.to_remove, [](const auto& id) { return id; }); }
Ids NewGroups(const ReconcilePlan& p) { return Sorted(p.groups_to_create, [](const auto& g) { return g.id; }); }

const Ids kBoth = {"hv", "vz"};

std::unique_ptr<SqliteStore> Memory() {
  auto store = SqliteStore::Open(":memory:");
  REQUIRE(store.ok());
  return *std::move(store);
}

ReconcilePlan PlanFor(SqliteStore& store, const std::vector<ObservedContainer>& observed, const Ids& answered) {
  return PlanReconcile(*store.ListWorkloads(), observed, answered, *store.ListGroups());
}

}  // namespace

TEST_CASE("reconcile plans, by table", "[registry][unit]") {
  struct Row {
    const char* what;
    std::vector<WorkloadRecord> recorded;
    std::vector<ObservedContainer> observed;
    Ids answered;
    Ids add, remove, update, groups;
  };
  const std::vector<Row> rows = {
      {"in sync", {Recorded("a", "hv", "pod:known")}, {Seen("a", "hv")}, kBoth, {}, {}, {}, {}},
      {"created behind our back is adopted into its labelled group", {}, {Seen("b", "vz", "pod:p")}, kBoth,
       {"b"}, {}, {}, {"pod:p"}},
      {"adopted without labels forms a lone group", {}, {Seen("0123456789abcdef", "hv")}, kBoth,
       {"0123456789abcdef"}, {}, {}, {"lone:0123456789ab"}},
      {"adopted into a known group creates no group", {}, {Seen("b", "hv", "pod:known")}, kBoth, {"b"}, {}, {}, {}},
      {"two adopted members of a new group create it once", {}, {Seen("b", "vz", "pod:p"), Seen("c", "vz", "pod:p")},
       kBoth, {"b", "c"}, {}, {}, {"pod:p"}},
      {"removed behind our back is forgotten", {Recorded("a", "hv", "pod:known")}, {}, kBoth, {}, {"a"}, {}, {}},
      {"a backend that is down keeps its records", {Recorded("a", "vz", "pod:known")}, {}, {"hv"}, {}, {}, {}, {}},
      {"no backend answered: nothing changes", {Recorded("a", "hv", "pod:known"), Recorded("b", "vz", "pod:known")},
       {}, {}, {}, {}, {}, {}},
      {"the guest is the truth for the backend", {Recorded("a", "hv", "pod:known")}, {Seen("a", "vz")}, kBoth, {}, {},
       {"a"}, {}},
      {"the guest is the truth for the name", {Recorded("a", "hv", "pod:known")},
       {Renamed(Seen("a", "hv"), "renamed")}, kBoth, {}, {}, {"a"}, {}},
      {"an updated member of a forgotten group recreates it", {Recorded("a", "hv", "pod:lost")}, {Seen("a", "vz")},
       kBoth, {}, {}, {"a"}, {"pod:lost"}},
      {"a container reported twice is adopted once", {}, {Seen("c", "hv"), Seen("c", "hv")}, {"hv"}, {"c"}, {}, {},
       {"lone:c"}},
  };
  const std::vector<GroupRecord> groups = {{"pod:known", "hv", "r", false, 0}};
  for (const Row& row : rows) {
    SECTION(row.what) {
      ReconcilePlan plan = PlanReconcile(row.recorded, row.observed, row.answered, groups);
      CHECK(Added(plan) == row.add);
      CHECK(Removed(plan) == row.remove);
      CHECK(Updated(plan) == row.update);
      CHECK(NewGroups(plan) == row.groups);
    }
  }
}

TEST_CASE("an adopted container takes group, platform and rule from its labels", "[registry][unit]") {
  ReconcilePlan plan = PlanReconcile({}, {Seen("b", "vz", "pod:p"), Seen("c", "hv")}, kBoth, {});
  REQUIRE(plan.to_add.size() == 2);
  const WorkloadRecord& labelled = plan.to_add[0];
  CHECK((labelled.group_id == "pod:p" && labelled.backend == "vz" && labelled.name == "n-b"));
  CHECK((labelled.platform == "linux/amd64" && labelled.rule == "placed by rule R" && labelled.created_unix == 5));
  const WorkloadRecord& bare = plan.to_add[1];
  CHECK((bare.group_id == "lone:c" && bare.platform.empty()));
  CHECK(bare.rule == "adopted: found in hv at reconcile");

  REQUIRE(plan.groups_to_create.size() == 2);
  const GroupRecord& group = plan.groups_to_create[0];
  CHECK((group.id == "pod:p" && group.backend == "vz" && !group.pinned));
  CHECK(group.rule.rfind("adopted", 0) == 0);
}

TEST_CASE("an update keeps the recorded group, platform and rule", "[registry][unit]") {
  WorkloadRecord recorded = {"a", "old", "hv", "compose:shop", "linux/arm64", "native", 3};
  ReconcilePlan plan = PlanReconcile({recorded}, {Renamed(Seen("a", "vz", "pod:other"), "new")}, kBoth,
                                     {{"compose:shop", "hv", "r", false, 0}});
  REQUIRE(plan.to_update.size() == 1);
  const WorkloadRecord& w = plan.to_update[0];
  CHECK((w.name == "new" && w.backend == "vz"));
  CHECK((w.group_id == "compose:shop" && w.platform == "linux/arm64" && w.rule == "native" && w.created_unix == 3));
}

TEST_CASE("applying a plan, then planning again, changes nothing", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->PutGroup({"pod:gone", "hv", "r", false, 0}).ok());
  REQUIRE(store->PutWorkload(Recorded("old", "hv", "pod:gone")).ok());
  REQUIRE(store->PutExec({"e1", "old", "hv"}).ok());
  REQUIRE(store->PutGroup({"pod:pinned", "hv", "r", true, 0}).ok());
  REQUIRE(store->PutWorkload(Recorded("old2", "hv", "pod:pinned")).ok());
  REQUIRE(store->PutWorkload(Recorded("moved", "hv", "pod:pinned")).ok());
  REQUIRE(store->PutWorkload(Recorded("down", "vz", "pod:vz")).ok());
  const std::vector<ObservedContainer> observed = {Seen("new", "hv", "pod:p"), Seen("lone", "hv"),
                                                   Renamed(Seen("moved", "hv"), "moved-name")};
  const Ids answered = {"hv"};  // vz is down

  REQUIRE(ApplyReconcile(*store, PlanFor(*store, observed, answered)).ok());
  CHECK(store->GetWorkload("new")->group_id == "pod:p");
  CHECK(store->GetGroup("pod:p")->backend == "hv");
  CHECK(store->GetGroup("lone:lone").ok());
  CHECK(store->GetWorkload("moved")->name == "moved-name");
  CHECK(absl::IsNotFound(store->GetWorkload("old").status()));
  CHECK(absl::IsNotFound(store->GetExec("e1").status()));         // its execs went with it
  CHECK(absl::IsNotFound(store->GetGroup("pod:gone").status()));  // emptied by the removal
  CHECK(store->GetGroup("pod:pinned").ok());                      // pinned: kept though emptied of old2
  CHECK(store->GetWorkload("down").ok());                         // its backend did not answer

  ReconcilePlan again = PlanFor(*store, observed, answered);
  CHECK(again.to_add.empty());
  CHECK(again.to_remove.empty());
  CHECK(again.to_update.empty());
  CHECK(again.groups_to_create.empty());
  REQUIRE(ApplyReconcile(*store, again).ok());
  CHECK(store->ListWorkloads()->size() == 4);  // new, lone, moved, down: no duplicates
  CHECK(store->ListGroups()->size() == 3);     // pod:p, lone:lone, pod:pinned
}

TEST_CASE("what the scheduler recorded after planning survives the plan", "[registry][unit]") {
  auto store = Memory();
  ReconcilePlan plan = PlanFor(*store, {Seen("c1", "vz", "compose:shop")}, kBoth);
  // Meanwhile the scheduler records the container it just created, with its own decision.
  REQUIRE(store->PutGroup({"compose:shop", "vz", "a member needs translation", true, 1}).ok());
  REQUIRE(store->PutWorkload({"c1", "n-c1", "vz", "compose:shop", "linux/amd64", "rosetta", 1}).ok());

  REQUIRE(ApplyReconcile(*store, plan).ok());
  CHECK(store->GetGroup("compose:shop")->pinned);
  CHECK(store->GetGroup("compose:shop")->rule == "a member needs translation");
  CHECK(store->GetWorkload("c1")->rule == "rosetta");
}
