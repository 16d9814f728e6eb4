#include "libs/registry/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

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

// A private directory, removed with everything in it.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/sy-registry-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

WorkloadRecord Workload(const std::string& id, const std::string& group, const std::string& backend = "hv") {
  return {id, "name-" + id, backend, group, "linux/amd64", "rule of " + id, 1};
}

GroupRecord Group(const std::string& id, const std::string& backend = "hv") { return {id, backend, "r", false, 0}; }

int Mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

bool Mentions(const absl::Status& status, const std::string& text) {
  return std::string(status.message()).find(text) != std::string::npos;
}

// Runs SQL on a file directly, as another program (or an older scheduler) would.
void RawSql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace

TEST_CASE("every record kind round trips", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->PutGroup({"compose:shop", "vz", "a member needs translation", false, 7}).ok());
  REQUIRE(store->PutWorkload(Workload("c1", "compose:shop", "vz")).ok());
  REQUIRE(store->PutExec({"e1", "c1", "vz"}).ok());
  REQUIRE(store->PutNetwork({"n1", "shop_default", "vz", "compose:shop", "10.90.1.0/24"}).ok());
  REQUIRE(store->PutNetwork({"n2", "loose", "hv", "", "10.80.2.0/24"}).ok());
  REQUIRE(store->PutVolume({"shop_data", "vz", "compose:shop"}).ok());
  REQUIRE(store->PutImage({"sha256:aa", "shop:1", "vz", "foreign-only image"}).ok());

  auto g = store->GetGroup("compose:shop");
  REQUIRE(g.ok());
  CHECK((g->backend == "vz" && g->rule == "a member needs translation" && !g->pinned && g->created_unix == 7));
  auto w = store->GetWorkload("c1");
  REQUIRE(w.ok());
  CHECK((w->name == "name-c1" && w->backend == "vz" && w->group_id == "compose:shop"));
  CHECK((w->platform == "linux/amd64" && w->rule == "rule of c1" && w->created_unix == 1));
  auto e = store->GetExec("e1");
  REQUIRE(e.ok());
  CHECK((e->container_id == "c1" && e->backend == "vz"));
  auto n = store->GetNetwork("n1");
  REQUIRE(n.ok());
  CHECK((n->name == "shop_default" && n->backend == "vz" && n->group_id == "compose:shop"));
  CHECK(n->subnet == "10.90.1.0/24");
  CHECK(store->GetNetwork("n2")->group_id.empty());
  auto v = store->GetVolume("shop_data");
  REQUIRE(v.ok());
  CHECK((v->backend == "vz" && v->group_id == "compose:shop"));
  auto i = store->GetImage("sha256:aa", "vz");
  REQUIRE(i.ok());
  CHECK((i->reference == "shop:1" && i->rule == "foreign-only image"));

  CHECK(store->ListGroups()->size() == 1);
  CHECK(store->ListWorkloads()->size() == 1);
  CHECK(store->ListExecs()->size() == 1);
  CHECK(store->ListNetworks()->size() == 2);
  CHECK(store->ListVolumes()->size() == 1);
  CHECK(store->ListImages()->size() == 1);
}

TEST_CASE("Put replaces the record with the same key", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->PutWorkload(Workload("c1", "lone:c1")).ok());
  WorkloadRecord renamed = Workload("c1", "lone:c1");
  renamed.name = "other";
  REQUIRE(store->PutWorkload(renamed).ok());
  CHECK(store->GetWorkload("c1")->name == "other");
  CHECK(store->ListWorkloads()->size() == 1);

  REQUIRE(store->PutGroup(Group("pod:p")).ok());
  REQUIRE(store->PutGroup({"pod:p", "vz", "moved", true, 3}).ok());
  CHECK(store->GetGroup("pod:p")->rule == "moved");
  CHECK(store->ListGroups()->size() == 1);

  // The key of an image is (id, backend): the same image on both VMs is two records.
  REQUIRE(store->PutImage({"sha256:aa", "multi:1", "hv", "native variant"}).ok());
  REQUIRE(store->PutImage({"sha256:aa", "multi:1", "vz", "pulled for a vz group"}).ok());
  REQUIRE(store->PutImage({"sha256:aa", "multi:latest", "hv", "native variant"}).ok());
  CHECK(store->ListImages()->size() == 2);
  CHECK(store->GetImage("sha256:aa", "hv")->reference == "multi:latest");
  CHECK(store->GetImage("sha256:aa", "vz")->reference == "multi:1");
}

TEST_CASE("Get answers NotFound for what the registry does not hold", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->PutImage({"sha256:aa", "a:1", "hv", "r"}).ok());
  CHECK(absl::IsNotFound(store->GetGroup("pod:x").status()));
  CHECK(absl::IsNotFound(store->GetWorkload("nope").status()));
  CHECK(absl::IsNotFound(store->GetExec("nope").status()));
  CHECK(absl::IsNotFound(store->GetNetwork("nope").status()));
  CHECK(absl::IsNotFound(store->GetVolume("nope").status()));
  CHECK(absl::IsNotFound(store->GetImage("sha256:aa", "vz").status()));
}

TEST_CASE("Delete forgets a record and succeeds when there is none", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->PutGroup(Group("pod:a")).ok());
  REQUIRE(store->PutWorkload(Workload("c1", "pod:a")).ok());
  REQUIRE(store->PutExec({"e1", "c1", "hv"}).ok());
  REQUIRE(store->PutExec({"e2", "c1", "hv"}).ok());
  REQUIRE(store->PutNetwork({"n1", "net", "hv", "", "10.80.0.0/24"}).ok());
  REQUIRE(store->PutVolume({"v1", "hv", ""}).ok());
  REQUIRE(store->PutImage({"sha256:aa", "a:1", "hv", "r"}).ok());
  REQUIRE(store->PutImage({"sha256:aa", "a:1", "vz", "r"}).ok());

  REQUIRE(store->DeleteExec("e2").ok());
  CHECK(store->ListExecs()->size() == 1);
  REQUIRE(store->DeleteWorkload("c1").ok());
  CHECK(store->ListExecs()->empty());  // a removed container's execs go with it
  REQUIRE(store->DeleteNetwork("n1").ok());
  REQUIRE(store->DeleteVolume("v1").ok());
  REQUIRE(store->DeleteImage("sha256:aa", "hv").ok());
  CHECK(store->GetImage("sha256:aa", "vz").ok());
  REQUIRE(store->DeleteGroup("pod:a").ok());

  CHECK(store->ListWorkloads()->empty());
  CHECK(store->ListNetworks()->empty());
  CHECK(store->ListVolumes()->empty());
  CHECK(store->ListImages()->size() == 1);
  CHECK(store->ListGroups()->empty());
  CHECK(store->DeleteWorkload("c1").ok());
  CHECK(store->DeleteExec("e1").ok());
  CHECK(store->DeleteGroup("pod:a").ok());
}

TEST_CASE("workloads list by backend and by group", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->PutWorkload(Workload("a", "compose:web", "hv")).ok());
  REQUIRE(store->PutWorkload(Workload("b", "compose:web", "hv")).ok());
  REQUIRE(store->PutWorkload(Workload("c", "pod:p", "vz")).ok());
  CHECK(store->ListWorkloads()->size() == 3);
  CHECK(store->ListWorkloadsOnBackend("hv")->size() == 2);
  auto on_vz = store->ListWorkloadsOnBackend("vz");
  REQUIRE(on_vz->size() == 1);
  CHECK(on_vz->front().container_id == "c");
  CHECK(store->ListWorkloadsInGroup("compose:web")->size() == 2);
  CHECK(store->ListWorkloadsInGroup("pod:none")->empty());
}

TEST_CASE("a group stays while pinned or while anything names it", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->PutGroup(Group("pod:a")).ok());
  REQUIRE(store->PutWorkload(Workload("c1", "pod:a")).ok());
  REQUIRE(store->DeleteGroupIfEmpty("pod:a").ok());
  CHECK(store->GetGroup("pod:a").ok());
  absl::Status refused = store->DeleteGroup("pod:a");
  CHECK(absl::IsFailedPrecondition(refused));
  CHECK(Mentions(refused, "pod:a"));

  REQUIRE(store->DeleteWorkload("c1").ok());
  REQUIRE(store->PutNetwork({"n1", "a_net", "hv", "pod:a", "10.80.0.0/24"}).ok());
  REQUIRE(store->DeleteGroupIfEmpty("pod:a").ok());
  CHECK(store->GetGroup("pod:a").ok());  // its network still lives on hv

  REQUIRE(store->DeleteNetwork("n1").ok());
  REQUIRE(store->DeleteGroupIfEmpty("pod:a").ok());
  CHECK(absl::IsNotFound(store->GetGroup("pod:a").status()));

  REQUIRE(store->PutGroup({"pod:kept", "vz", "r", true, 0}).ok());
  REQUIRE(store->DeleteGroupIfEmpty("pod:kept").ok());
  CHECK(store->GetGroup("pod:kept").ok());
  REQUIRE(store->DeleteGroup("pod:kept").ok());
  CHECK_FALSE(store->GetGroup("pod:kept").ok());
}

TEST_CASE("a network or volume can only name a group that exists", "[registry][unit]") {
  auto store = Memory();
  CHECK(absl::IsFailedPrecondition(store->PutNetwork({"n1", "net", "hv", "compose:none", "10.80.0.0/24"})));
  CHECK(absl::IsFailedPrecondition(store->PutVolume({"v1", "hv", "compose:none"})));
  REQUIRE(store->PutGroup(Group("compose:shop")).ok());
  REQUIRE(store->PutVolume({"v1", "hv", "compose:shop"}).ok());
  // Replacing the group keeps what names it.
  REQUIRE(store->PutGroup({"compose:shop", "hv", "re-placed", false, 9}).ok());
  CHECK(store->GetVolume("v1")->group_id == "compose:shop");
}

TEST_CASE("pinning creates a group, keeps it when empty, refuses to strand members", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->PinGroup("pod:p", "vz", "pinned").ok());
  auto pinned = store->GetGroup("pod:p");
  REQUIRE(pinned.ok());
  CHECK((pinned->pinned && pinned->backend == "vz" && pinned->rule == "pinned" && pinned->created_unix > 0));
  REQUIRE(store->DeleteGroupIfEmpty("pod:p").ok());
  CHECK(store->GetGroup("pod:p").ok());

  REQUIRE(store->PutGroup({"compose:web", "hv", "r", false, 5}).ok());
  REQUIRE(store->PutWorkload(Workload("c1", "compose:web", "hv")).ok());
  REQUIRE(store->PutWorkload(Workload("c2", "compose:web", "hv")).ok());
  absl::Status moved = store->PinGroup("compose:web", "vz", "pinned");
  CHECK(absl::IsFailedPrecondition(moved));
  CHECK(Mentions(moved, "group compose:web has 2 member(s) on backend hv"));
  CHECK_FALSE(store->GetGroup("compose:web")->pinned);

  REQUIRE(store->PinGroup("compose:web", "hv", "pinned by hand").ok());
  auto web = store->GetGroup("compose:web");
  CHECK((web->pinned && web->rule == "pinned by hand" && web->created_unix == 5));

  REQUIRE(store->PutGroup(Group("compose:db")).ok());
  REQUIRE(store->PutVolume({"db_data", "hv", "compose:db"}).ok());
  CHECK(Mentions(store->PinGroup("compose:db", "vz", "pinned"), "1 member(s) on backend hv"));
}

TEST_CASE("a failed transaction leaves nothing behind", "[registry][unit]") {
  auto store = Memory();
  absl::Status s = store->Apply([](Store& tx) {
    REQUIRE(tx.PutGroup(Group("pod:t")).ok());
    REQUIRE(tx.PutWorkload(Workload("c1", "pod:t")).ok());
    REQUIRE(tx.PutImage({"sha256:aa", "a:1", "hv", "r"}).ok());
    return absl::AbortedError("changed my mind");
  });
  CHECK(absl::IsAborted(s));
  CHECK(store->ListGroups()->empty());
  CHECK(store->ListWorkloads()->empty());
  CHECK(store->ListImages()->empty());

  REQUIRE(store->Apply([](Store& tx) { return tx.PutWorkload(Workload("c2", "pod:t")); }).ok());
  CHECK(store->GetWorkload("c2").ok());
}

TEST_CASE("a nested Apply that fails undoes only its own writes", "[registry][unit]") {
  auto store = Memory();
  REQUIRE(store->Apply([](Store& tx) {
                 REQUIRE(tx.PutWorkload(Workload("outer", "lone:o")).ok());
                 absl::Status inner = tx.Apply([](Store& nested) {
                   REQUIRE(nested.PutWorkload(Workload("inner", "lone:i")).ok());
                   return absl::AbortedError("no");
                 });
                 CHECK(absl::IsAborted(inner));
                 return absl::OkStatus();
               })
              .ok());
  CHECK(store->GetWorkload("outer").ok());
  CHECK_FALSE(store->GetWorkload("inner").ok());
}

TEST_CASE("concurrent writers each get a whole transaction", "[registry][unit]") {
  auto store = Memory();
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        absl::Status s = store->Apply([&](Store& tx) {
          absl::Status put = tx.PutGroup(Group("lone:" + id));
          return put.ok() ? tx.PutWorkload(Workload(id, "lone:" + id)) : put;
        });
        if (!s.ok() || !store->GetWorkload(id).ok()) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  CHECK(failures == 0);
  CHECK(store->ListWorkloads()->size() == 200);
  CHECK(store->ListGroups()->size() == 200);
}

TEST_CASE("the registry file survives a restart and is private", "[registry][unit]") {
  TempDir dir;
  const std::string path = dir.path + "/scheduler.db";
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store.ok());
    REQUIRE((*store)->PutGroup({"lone:1", "vz", "r", true, 0}).ok());
    REQUIRE((*store)->PutWorkload(Workload("c1", "lone:1", "vz")).ok());
    REQUIRE((*store)->PutVolume({"v1", "vz", "lone:1"}).ok());
    CHECK(Mode(path) == 0600);
    CHECK(Mode(path + "-wal") == 0600);  // WAL: the write sits in the log until a checkpoint
    CHECK(Mode(path + "-shm") == 0600);
  }
  auto store = SqliteStore::Open(path);  // a second open migrates nothing and loses nothing
  REQUIRE(store.ok());
  CHECK((*store)->GetWorkload("c1")->backend == "vz");
  CHECK((*store)->GetGroup("lone:1")->pinned);
  CHECK((*store)->GetVolume("v1")->group_id == "lone:1");
}

TEST_CASE("a registry written at schema version 1 migrates and keeps its records", "[registry][unit]") {
  TempDir dir;
  const std::string path = dir.path + "/scheduler.db";
  RawSql(path, R"sql(
    CREATE TABLE schema_version (version INTEGER NOT NULL);
    INSERT INTO schema_version VALUES (1);
    CREATE TABLE groups (id TEXT PRIMARY KEY, backend TEXT NOT NULL, rule TEXT NOT NULL,
      pinned INTEGER NOT NULL DEFAULT 0, created_unix INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE workloads (container_id TEXT PRIMARY KEY, name TEXT NOT NULL, backend TEXT NOT NULL,
      group_id TEXT NOT NULL, platform TEXT NOT NULL, rule TEXT NOT NULL, created_unix INTEGER NOT NULL);
    CREATE TABLE execs (exec_id TEXT PRIMARY KEY, container_id TEXT NOT NULL, backend TEXT NOT NULL);
    INSERT INTO groups VALUES ('pod:old', 'vz', 'r', 0, 0);
    INSERT INTO workloads VALUES ('c1', 'web', 'vz', 'pod:old', '', 'r', 1);
  )sql");
  auto store = SqliteStore::Open(path);
  REQUIRE(store.ok());
  CHECK((*store)->GetWorkload("c1")->group_id == "pod:old");
  REQUIRE((*store)->PutNetwork({"n1", "old_net", "vz", "pod:old", "10.90.0.0/24"}).ok());
}

TEST_CASE("a file that is not a registry gets a clear error naming it", "[registry][unit]") {
  TempDir dir;
  const std::string path = dir.path + "/scheduler.db";

  SECTION("garbage") {
    std::ofstream(path) << std::string(8192, 'x');
    auto store = SqliteStore::Open(path);
    CHECK(absl::IsDataLoss(store.status()));
    CHECK(Mentions(store.status(), path));
    CHECK(Mentions(store.status(), "not a database"));
  }
  SECTION("another program's database") {
    RawSql(path, "CREATE TABLE photos (id INTEGER)");
    auto store = SqliteStore::Open(path);
    CHECK(absl::IsInvalidArgument(store.status()));
    CHECK(Mentions(store.status(), path));
  }
  SECTION("a registry from a newer scheduler") {
    RawSql(path, "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (99);");
    auto store = SqliteStore::Open(path);
    CHECK(absl::IsFailedPrecondition(store.status()));
    CHECK(Mentions(store.status(), "schema version 99"));
  }
  SECTION("a directory that does not exist") {
    auto store = SqliteStore::Open(dir.path + "/missing/scheduler.db");
    CHECK(absl::IsNotFound(store.status()));
    CHECK(Mentions(store.status(), dir.path + "/missing/scheduler.db"));
  }
}
