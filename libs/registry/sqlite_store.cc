#include "libs/registry/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/registry/sqlite_wrapper.h"

namespace switchyard::registry {
namespace {

// Migration N takes a file from schema version N-1 to N. Append only: a
// file written by an older scheduler must keep opening.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE groups (
  id TEXT PRIMARY KEY, backend TEXT NOT NULL, rule TEXT NOT NULL,
  pinned INTEGER NOT NULL DEFAULT 0, created_unix INTEGER NOT NULL DEFAULT 0);
CREATE TABLE workloads (
  container_id TEXT PRIMARY KEY, name TEXT NOT NULL, backend TEXT NOT NULL,
  group_id TEXT NOT NULL, platform TEXT NOT NULL, rule TEXT NOT NULL, created_unix INTEGER NOT NULL);
CREATE INDEX workloads_by_group ON workloads(group_id);
CREATE TABLE execs (
  exec_id TEXT PRIMARY KEY, container_id TEXT NOT NULL, backend TEXT NOT NULL);
CREATE INDEX execs_by_container ON execs(container_id);
)sql",
    R"sql(
CREATE TABLE networks (
  network_id TEXT PRIMARY KEY, name TEXT NOT NULL, backend TEXT NOT NULL,
  group_id TEXT REFERENCES groups(id), subnet TEXT NOT NULL);
CREATE INDEX networks_by_group ON networks(group_id);
CREATE TABLE volumes (
  name TEXT PRIMARY KEY, backend TEXT NOT NULL, group_id TEXT REFERENCES groups(id));
CREATE INDEX volumes_by_group ON volumes(group_id);
CREATE TABLE images (
  image_id TEXT NOT NULL, backend TEXT NOT NULL, reference TEXT NOT NULL, rule TEXT NOT NULL,
  PRIMARY KEY (image_id, backend));
)sql",
};

// Everything that names a group, with the backend it lives on (binds ?1).
constexpr char kGroupMembers[] =
    "SELECT backend FROM workloads WHERE group_id = ?1 "
    "UNION ALL SELECT backend FROM networks WHERE group_id = ?1 "
    "UNION ALL SELECT backend FROM volumes WHERE group_id = ?1";

constexpr char kGroupColumns[] = "SELECT id, backend, rule, pinned, created_unix FROM groups";
constexpr char kWorkloadColumns[] =
    "SELECT container_id, name, backend, group_id, platform, rule, created_unix FROM workloads";
constexpr char kExecColumns[] = "SELECT exec_id, container_id, backend FROM execs";
constexpr char kNetworkColumns[] = "SELECT network_id, name, backend, group_id, subnet FROM networks";
constexpr char kVolumeColumns[] = "SELECT name, backend, group_id FROM volumes";
constexpr char kImageColumns[] = "SELECT image_id, reference, backend, rule FROM images";

GroupRecord GroupAt(const Statement& q) { return {q.Text(0), q.Text(1), q.Text(2), q.Int(3) != 0, q.Int(4)}; }
WorkloadRecord WorkloadAt(const Statement& q) {
  return {q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6)};
}
ExecRecord ExecAt(const Statement& q) { return {q.Text(0), q.Text(1), q.Text(2)}; }
NetworkRecord NetworkAt(const Statement& q) { return {q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4)}; }
VolumeRecord VolumeAt(const Statement& q) { return {q.Text(0), q.Text(1), q.Text(2)}; }
ImageRecord ImageAt(const Statement& q) { return {q.Text(0), q.Text(1), q.Text(2), q.Text(3)}; }

template <typename Record>
absl::StatusOr<Record> ReadOne(Statement& q, Record (*row)(const Statement&), absl::string_view not_found) {
  if (q.Next()) return row(q);
  if (!q.status().ok()) return q.status();
  return absl::NotFoundError(not_found);
}

template <typename Record>
absl::StatusOr<std::vector<Record>> ReadAll(Statement& q, Record (*row)(const Statement&)) {
  std::vector<Record> out;
  while (q.Next()) out.push_back(row(q));
  if (!q.status().ok()) return q.status();
  return out;
}

// 0 for a new file; InvalidArgument for another program's database.
absl::StatusOr<int64_t> SchemaVersion(sqlite3* db) {
  Statement tables(db, "SELECT name FROM sqlite_master WHERE type = 'table'");
  bool any_table = false;
  bool versioned = false;
  while (tables.Next()) {
    any_table = true;
    versioned = versioned || tables.Text(0) == "schema_version";
  }
  if (!tables.status().ok()) return tables.status();
  if (!versioned) {
    if (any_table) return absl::InvalidArgumentError("is an SQLite database of another program");
    return 0;
  }
  Statement version(db, "SELECT MAX(version) FROM schema_version");
  const int64_t found = version.Next() ? version.Int(0) : 0;
  if (!version.status().ok()) return version.status();
  return found;
}

// One transaction for reading the version and migrating, so two schedulers
// opening a new file at once cannot both create the tables.
absl::Status Migrate(sqlite3* db) {
  Transaction tx(db);
  if (!tx.status().ok()) return tx.status();
  absl::StatusOr<int64_t> version = SchemaVersion(db);
  if (!version.ok()) return version.status();
  const int64_t known = static_cast<int64_t>(std::size(kMigrations));
  if (*version > known) {
    return absl::FailedPreconditionError(
        absl::StrCat("has schema version ", *version, ", newer than this scheduler knows (", known, ")"));
  }
  absl::Status s = ExecuteSql(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  for (int64_t v = *version; s.ok() && v < known; ++v) {
    s = ExecuteSql(db, kMigrations[v]);
    if (s.ok()) s = Statement(db, "INSERT INTO schema_version (version) VALUES (?)").Bind(1, v + 1).Run();
  }
  if (!s.ok()) return s;
  return tx.Commit();
}

// The statements, on a connection the caller has locked.
class SqliteTables final : public Store {
 public:
  explicit SqliteTables(sqlite3* db) : db_(db) {}

  absl::Status PutGroup(const GroupRecord& g) override {
    return Statement(db_,
                     "INSERT INTO groups (id, backend, rule, pinned, created_unix) VALUES (?1, ?2, ?3, ?4, ?5) "
                     "ON CONFLICT (id) DO UPDATE SET backend = ?2, rule = ?3, pinned = ?4, created_unix = ?5")
        .Bind(1, g.id).Bind(2, g.backend).Bind(3, g.rule).Bind(4, int64_t{g.pinned}).Bind(5, g.created_unix)
        .Run();
  }
  absl::StatusOr<GroupRecord> GetGroup(const std::string& id) override {
    Statement q(db_, absl::StrCat(kGroupColumns, " WHERE id = ?"));
    return ReadOne(q.Bind(1, id), GroupAt, absl::StrCat("no such group: ", id));
  }
  absl::StatusOr<std::vector<GroupRecord>> ListGroups() override {
    Statement q(db_, absl::StrCat(kGroupColumns, " ORDER BY id"));
    return ReadAll(q, GroupAt);
  }
  absl::Status DeleteGroup(const std::string& id) override {
    Transaction tx(db_);
    if (!tx.status().ok()) return tx.status();
    Statement members(db_, absl::StrCat("SELECT COUNT(*) FROM (", kGroupMembers, ")"));
    const int64_t count = members.Bind(1, id).Next() ? members.Int(0) : 0;
    if (!members.status().ok()) return members.status();
    if (count > 0) {
      return absl::FailedPreconditionError(absl::StrCat("group ", id, " still has ", count, " member(s)"));
    }
    absl::Status s = Statement(db_, "DELETE FROM groups WHERE id = ?").Bind(1, id).Run();
    return s.ok() ? tx.Commit() : s;
  }
  absl::Status DeleteGroupIfEmpty(const std::string& id) override {
    return Statement(db_, absl::StrCat("DELETE FROM groups WHERE id = ?1 AND pinned = 0 AND NOT EXISTS (",
                                       kGroupMembers, ")"))
        .Bind(1, id)
        .Run();
  }
  absl::Status PinGroup(const std::string& id, const std::string& backend, const std::string& rule) override {
    Transaction tx(db_);  // no member may arrive between the check and the pin
    if (!tx.status().ok()) return tx.status();
    Statement elsewhere(db_, absl::StrCat("SELECT backend, COUNT(*) FROM (", kGroupMembers,
                                          ") WHERE backend <> ?2 GROUP BY backend ORDER BY COUNT(*) DESC"));
    if (elsewhere.Bind(1, id).Bind(2, backend).Next()) {
      return absl::FailedPreconditionError(absl::StrCat("group ", id, " has ", elsewhere.Int(1),
                                                        " member(s) on backend ", elsewhere.Text(0),
                                                        "; remove them before pinning it to ", backend));
    }
    if (!elsewhere.status().ok()) return elsewhere.status();
    absl::Status s = Statement(db_,
                               "INSERT INTO groups (id, backend, rule, pinned, created_unix) "
                               "VALUES (?1, ?2, ?3, 1, unixepoch()) "
                               "ON CONFLICT (id) DO UPDATE SET backend = ?2, rule = ?3, pinned = 1")
                         .Bind(1, id).Bind(2, backend).Bind(3, rule)
                         .Run();
    return s.ok() ? tx.Commit() : s;
  }

  absl::Status PutWorkload(const WorkloadRecord& w) override {
    return Statement(db_,
                     "INSERT INTO workloads (container_id, name, backend, group_id, platform, rule, created_unix) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (container_id) DO UPDATE SET "
                     "name = ?2, backend = ?3, group_id = ?4, platform = ?5, rule = ?6, created_unix = ?7")
        .Bind(1, w.container_id).Bind(2, w.name).Bind(3, w.backend).Bind(4, w.group_id).Bind(5, w.platform)
        .Bind(6, w.rule).Bind(7, w.created_unix)
        .Run();
  }
  absl::StatusOr<WorkloadRecord> GetWorkload(const std::string& container_id) override {
    Statement q(db_, absl::StrCat(kWorkloadColumns, " WHERE container_id = ?"));
    return ReadOne(q.Bind(1, container_id), WorkloadAt, absl::StrCat("no such workload: ", container_id));
  }
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloads() override {
    Statement q(db_, absl::StrCat(kWorkloadColumns, " ORDER BY created_unix, container_id"));
    return ReadAll(q, WorkloadAt);
  }
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsOnBackend(const std::string& backend) override {
    Statement q(db_, absl::StrCat(kWorkloadColumns, " WHERE backend = ? ORDER BY created_unix, container_id"));
    return ReadAll(q.Bind(1, backend), WorkloadAt);
  }
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsInGroup(const std::string& group_id) override {
    Statement q(db_, absl::StrCat(kWorkloadColumns, " WHERE group_id = ? ORDER BY created_unix, container_id"));
    return ReadAll(q.Bind(1, group_id), WorkloadAt);
  }
  absl::Status DeleteWorkload(const std::string& container_id) override {
    Transaction tx(db_);
    if (!tx.status().ok()) return tx.status();
    absl::Status s = Statement(db_, "DELETE FROM execs WHERE container_id = ?").Bind(1, container_id).Run();
    if (s.ok()) s = Statement(db_, "DELETE FROM workloads WHERE container_id = ?").Bind(1, container_id).Run();
    return s.ok() ? tx.Commit() : s;
  }

  absl::Status PutExec(const ExecRecord& e) override {
    return Statement(db_,
                     "INSERT INTO execs (exec_id, container_id, backend) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (exec_id) DO UPDATE SET container_id = ?2, backend = ?3")
        .Bind(1, e.exec_id).Bind(2, e.container_id).Bind(3, e.backend)
        .Run();
  }
  absl::StatusOr<ExecRecord> GetExec(const std::string& exec_id) override {
    Statement q(db_, absl::StrCat(kExecColumns, " WHERE exec_id = ?"));
    return ReadOne(q.Bind(1, exec_id), ExecAt, absl::StrCat("No such exec instance: ", exec_id));
  }
  absl::StatusOr<std::vector<ExecRecord>> ListExecs() override {
    Statement q(db_, absl::StrCat(kExecColumns, " ORDER BY exec_id"));
    return ReadAll(q, ExecAt);
  }
  absl::Status DeleteExec(const std::string& exec_id) override {
    return Statement(db_, "DELETE FROM execs WHERE exec_id = ?").Bind(1, exec_id).Run();
  }

  absl::Status PutNetwork(const NetworkRecord& n) override {
    return Statement(db_,
                     "INSERT INTO networks (network_id, name, backend, group_id, subnet) VALUES (?1, ?2, ?3, ?4, ?5) "
                     "ON CONFLICT (network_id) DO UPDATE SET name = ?2, backend = ?3, group_id = ?4, subnet = ?5")
        .Bind(1, n.network_id).Bind(2, n.name).Bind(3, n.backend).BindOptional(4, n.group_id).Bind(5, n.subnet)
        .Run();
  }
  absl::StatusOr<NetworkRecord> GetNetwork(const std::string& network_id) override {
    Statement q(db_, absl::StrCat(kNetworkColumns, " WHERE network_id = ?"));
    return ReadOne(q.Bind(1, network_id), NetworkAt, absl::StrCat("no such network: ", network_id));
  }
  absl::StatusOr<std::vector<NetworkRecord>> ListNetworks() override {
    Statement q(db_, absl::StrCat(kNetworkColumns, " ORDER BY name, network_id"));
    return ReadAll(q, NetworkAt);
  }
  absl::Status DeleteNetwork(const std::string& network_id) override {
    return Statement(db_, "DELETE FROM networks WHERE network_id = ?").Bind(1, network_id).Run();
  }

  absl::Status PutVolume(const VolumeRecord& v) override {
    return Statement(db_,
                     "INSERT INTO volumes (name, backend, group_id) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (name) DO UPDATE SET backend = ?2, group_id = ?3")
        .Bind(1, v.name).Bind(2, v.backend).BindOptional(3, v.group_id)
        .Run();
  }
  absl::StatusOr<VolumeRecord> GetVolume(const std::string& name) override {
    Statement q(db_, absl::StrCat(kVolumeColumns, " WHERE name = ?"));
    return ReadOne(q.Bind(1, name), VolumeAt, absl::StrCat("no such volume: ", name));
  }
  absl::StatusOr<std::vector<VolumeRecord>> ListVolumes() override {
    Statement q(db_, absl::StrCat(kVolumeColumns, " ORDER BY name"));
    return ReadAll(q, VolumeAt);
  }
  absl::Status DeleteVolume(const std::string& name) override {
    return Statement(db_, "DELETE FROM volumes WHERE name = ?").Bind(1, name).Run();
  }

  absl::Status PutImage(const ImageRecord& i) override {
    return Statement(db_,
                     "INSERT INTO images (image_id, backend, reference, rule) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (image_id, backend) DO UPDATE SET reference = ?3, rule = ?4")
        .Bind(1, i.image_id).Bind(2, i.backend).Bind(3, i.reference).Bind(4, i.rule)
        .Run();
  }
  absl::StatusOr<ImageRecord> GetImage(const std::string& image_id, const std::string& backend) override {
    Statement q(db_, absl::StrCat(kImageColumns, " WHERE image_id = ? AND backend = ?"));
    return ReadOne(q.Bind(1, image_id).Bind(2, backend), ImageAt,
                   absl::StrCat("no such image: ", image_id, " on backend ", backend));
  }
  absl::StatusOr<std::vector<ImageRecord>> ListImages() override {
    Statement q(db_, absl::StrCat(kImageColumns, " ORDER BY image_id, backend"));
    return ReadAll(q, ImageAt);
  }
  absl::Status DeleteImage(const std::string& image_id, const std::string& backend) override {
    return Statement(db_, "DELETE FROM images WHERE image_id = ? AND backend = ?")
        .Bind(1, image_id).Bind(2, backend)
        .Run();
  }

  absl::Status Apply(const std::function<absl::Status(Store&)>& fn) override {
    Transaction tx(db_);
    if (!tx.status().ok()) return tx.status();
    absl::Status s = fn(*this);
    return s.ok() ? tx.Commit() : s;
  }

 private:
  sqlite3* db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("registry: no file given");
  if (path != ":memory:") {
    // Created 0600 before SQLite would create it 0644: the registry names
    // every workload. The -wal and -shm files take the same mode.
    const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("registry ", path));
    ::close(fd);
  }
  sqlite3* db = nullptr;
  const int opened = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));  // closes `db` on every path below
  absl::Status s = opened == SQLITE_OK ? absl::OkStatus() : SqliteError(db, opened);
  if (s.ok()) {
    // Another process (the sqlite3 shell, a backup) may hold the lock briefly.
    sqlite3_busy_timeout(db, 5000);
    // The first statement reads the file: garbage shows up here.
    s = ExecuteSql(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
  }
  if (s.ok()) s = Migrate(db);
  if (s.ok()) return store;
  std::string message = absl::StrCat("registry ", path, ": ", absl::StripPrefix(s.message(), "registry: "));
  if (absl::IsDataLoss(s)) absl::StrAppend(&message, "; move it aside to start with an empty registry");
  return absl::Status(s.code(), message);
}

SqliteStore::SqliteStore(sqlite3* db) : db_(db), tables_(std::make_unique<SqliteTables>(db)) {}

SqliteStore::~SqliteStore() {
  tables_.reset();
  sqlite3_close(db_);
}

absl::Status SqliteStore::PutGroup(const GroupRecord& g) { return Locked(&Store::PutGroup, g); }
absl::StatusOr<GroupRecord> SqliteStore::GetGroup(const std::string& id) { return Locked(&Store::GetGroup, id); }
absl::StatusOr<std::vector<GroupRecord>> SqliteStore::ListGroups() { return Locked(&Store::ListGroups); }
absl::Status SqliteStore::DeleteGroup(const std::string& id) { return Locked(&Store::DeleteGroup, id); }
absl::Status SqliteStore::DeleteGroupIfEmpty(const std::string& id) { return Locked(&Store::DeleteGroupIfEmpty, id); }
absl::Status SqliteStore::PinGroup(const std::string& id, const std::string& backend, const std::string& rule) {
  return Locked(&Store::PinGroup, id, backend, rule);
}

absl::Status SqliteStore::PutWorkload(const WorkloadRecord& w) { return Locked(&Store::PutWorkload, w); }
absl::StatusOr<WorkloadRecord> SqliteStore::GetWorkload(const std::string& container_id) {
  return Locked(&Store::GetWorkload, container_id);
}
absl::StatusOr<std::vector<WorkloadRecord>> SqliteStore::ListWorkloads() { return Locked(&Store::ListWorkloads); }
absl::StatusOr<std::vector<WorkloadRecord>> SqliteStore::ListWorkloadsOnBackend(const std::string& backend) {
  return Locked(&Store::ListWorkloadsOnBackend, backend);
}
absl::StatusOr<std::vector<WorkloadRecord>> SqliteStore::ListWorkloadsInGroup(const std::string& group_id) {
  return Locked(&Store::ListWorkloadsInGroup, group_id);
}
absl::Status SqliteStore::DeleteWorkload(const std::string& container_id) {
  return Locked(&Store::DeleteWorkload, container_id);
}

absl::Status SqliteStore::PutExec(const ExecRecord& e) { return Locked(&Store::PutExec, e); }
absl::StatusOr<ExecRecord> SqliteStore::GetExec(const std::string& exec_id) { return Locked(&Store::GetExec, exec_id); }
absl::StatusOr<std::vector<ExecRecord>> SqliteStore::ListExecs() { return Locked(&Store::ListExecs); }
absl::Status SqliteStore::DeleteExec(const std::string& exec_id) { return Locked(&Store::DeleteExec, exec_id); }

absl::Status SqliteStore::PutNetwork(const NetworkRecord& n) { return Locked(&Store::PutNetwork, n); }
absl::StatusOr<NetworkRecord> SqliteStore::GetNetwork(const std::string& network_id) {
  return Locked(&Store::GetNetwork, network_id);
}
absl::StatusOr<std::vector<NetworkRecord>> SqliteStore::ListNetworks() { return Locked(&Store::ListNetworks); }
absl::Status SqliteStore::DeleteNetwork(const std::string& network_id) {
  return Locked(&Store::DeleteNetwork, network_id);
}

absl::Status SqliteStore::PutVolume(const VolumeRecord& v) { return Locked(&Store::PutVolume, v); }
absl::StatusOr<VolumeRecord> SqliteStore::GetVolume(const std::string& name) { return Locked(&Store::GetVolume, name); }
absl::StatusOr<std::vector<VolumeRecord>> SqliteStore::ListVolumes() { return Locked(&Store::ListVolumes); }
absl::Status SqliteStore::DeleteVolume(const std::string& name) { return Locked(&Store::DeleteVolume, name); }

absl::Status SqliteStore::PutImage(const ImageRecord& i) { return Locked(&Store::PutImage, i); }
absl::StatusOr<ImageRecord> SqliteStore::GetImage(const std::string& image_id, const std::string& backend) {
  return Locked(&Store::GetImage, image_id, backend);
}
absl::StatusOr<std::vector<ImageRecord>> SqliteStore::ListImages() { return Locked(&Store::ListImages); }
absl::Status SqliteStore::DeleteImage(const std::string& image_id, const std::string& backend) {
  return Locked(&Store::DeleteImage, image_id, backend);
}

absl::Status SqliteStore::Apply(const std::function<absl::Status(Store&)>& fn) { return Locked(&Store::Apply, fn); }

}  // namespace switchyard::registry
