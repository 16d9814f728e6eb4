#include "libs/registry/sqlite_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

using switchyard::registry::ExecRecord;
using switchyard::registry::GroupRecord;
using switchyard::registry::SqliteStore;
using switchyard::registry::Store;
using switchyard::registry::WorkloadRecord;

namespace {

std::unique_ptr<SqliteStore> Memory() {
  auto store = SqliteStore::Open(":memory:");
  REQUIRE(store.ok());
  return *std::move(store);
}

std::string TempDir() {
  char tmpl[] = "/tmp/sy-registry-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

WorkloadRecord Workload(const std::string& id, const std::string& group, const std::string& backend = "hv") {
  return {id, "name-" + id, backend, group, "", "rule of " + id, 1};
}

}  // namespace

TEST_CASE("registry records round trip and upsert", "[registry]") {
  auto store = Memory();
  REQUIRE(store->PutGroup({"compose:shop", "vz", "a member needs translation", false, 7}).ok());
  REQUIRE(store->PutWorkload(Workload("c1", "compose:shop", "vz")).ok());
  REQUIRE(store->PutExec({"e1", "c1", "vz"}).ok());

  auto g = store->GetGroup("compose:shop");
  REQUIRE(g.ok());
  CHECK(g->backend == "vz");
  CHECK(g->rule == "a member needs translation");
  CHECK(g->created_unix == 7);
  auto w = store->GetWorkload("c1");
  REQUIRE(w.ok());
  CHECK(w->group_id == "compose:shop");
  CHECK(w->rule == "rule of c1");
  CHECK(store->GetExec("e1")->backend == "vz");

  WorkloadRecord renamed = Workload("c1", "compose:shop", "vz");
  renamed.name = "other";
  REQUIRE(store->PutWorkload(renamed).ok());
  CHECK(store->GetWorkload("c1")->name == "other");
  CHECK(store->ListWorkloads()->size() == 1);
}

TEST_CASE("registry answers NotFound for what it does not hold", "[registry]") {
  auto store = Memory();
  CHECK(store->GetGroup("pod:x").status().code() == absl::StatusCode::kNotFound);
  CHECK(store->GetWorkload("nope").status().code() == absl::StatusCode::kNotFound);
  CHECK(store->GetExec("nope").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("removing a workload forgets its execs and empty unpinned groups go", "[registry]") {
  auto store = Memory();
  REQUIRE(store->PutGroup({"pod:a", "hv", "r", false, 0}).ok());
  REQUIRE(store->PutWorkload(Workload("c1", "pod:a")).ok());
  REQUIRE(store->PutExec({"e1", "c1", "hv"}).ok());
  REQUIRE(store->DeleteGroupIfEmpty("pod:a").ok());
  CHECK(store->GetGroup("pod:a").ok());  // still has a member
  REQUIRE(store->DeleteWorkload("c1").ok());
  CHECK_FALSE(store->GetExec("e1").ok());
  REQUIRE(store->DeleteGroupIfEmpty("pod:a").ok());
  CHECK_FALSE(store->GetGroup("pod:a").ok());
}

TEST_CASE("pinning creates a group, keeps it when empty, refuses a move of running members", "[registry]") {
  auto store = Memory();
  REQUIRE(store->PinGroup("pod:p", "vz", "pinned").ok());
  CHECK(store->GetGroup("pod:p")->pinned);
  REQUIRE(store->DeleteGroupIfEmpty("pod:p").ok());
  CHECK(store->GetGroup("pod:p").ok());

  REQUIRE(store->PutGroup({"compose:web", "hv", "r", false, 0}).ok());
  REQUIRE(store->PutWorkload(Workload("c1", "compose:web", "hv")).ok());
  absl::Status moved = store->PinGroup("compose:web", "vz", "pinned");
  CHECK(moved.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(moved.message()).find("compose:web") != std::string::npos);
  CHECK(std::string(moved.message()).find("backend hv") != std::string::npos);
  CHECK(store->PinGroup("compose:web", "hv", "pinned").ok());
}

TEST_CASE("a failed transaction leaves nothing behind", "[registry]") {
  auto store = Memory();
  absl::Status s = store->Apply([](Store& tx) {
    REQUIRE(tx.PutGroup({"pod:t", "hv", "r", false, 0}).ok());
    REQUIRE(tx.PutWorkload(Workload("c1", "pod:t")).ok());
    return absl::AbortedError("changed my mind");
  });
  CHECK(s.code() == absl::StatusCode::kAborted);
  CHECK_FALSE(store->GetGroup("pod:t").ok());
  CHECK_FALSE(store->GetWorkload("c1").ok());
  REQUIRE(store->Apply([](Store& tx) { return tx.PutWorkload(Workload("c2", "pod:t")); }).ok());
  CHECK(store->GetWorkload("c2").ok());
}

TEST_CASE("the registry file survives a reopen and is private", "[registry]") {
  const std::string dir = TempDir();
  const std::string path = dir + "/scheduler.db";
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store.ok());
    REQUIRE((*store)->PutGroup({"lone:1", "vz", "r", true, 0}).ok());
    REQUIRE((*store)->PutWorkload(Workload("c1", "lone:1", "vz")).ok());
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  {
    auto store = SqliteStore::Open(path);  // a second open migrates nothing and loses nothing
    REQUIRE(store.ok());
    CHECK((*store)->GetWorkload("c1")->backend == "vz");
    CHECK((*store)->GetGroup("lone:1")->pinned);
  }
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("a file that is not a registry gets an error naming it", "[registry]") {
  const std::string dir = TempDir();
  const std::string path = dir + "/scheduler.db";
  std::ofstream(path) << std::string(8192, 'x');
  auto store = SqliteStore::Open(path);
  REQUIRE_FALSE(store.ok());
  CHECK(std::string(store.status().message()).find(path) != std::string::npos);
  std::system(("rm -rf " + dir).c_str());
}
