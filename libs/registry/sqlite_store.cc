#include "libs/registry/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "libs/registry/sqlite_statement.h"

namespace switchyard::registry {
namespace {

// Version 1. Later versions append migrations; a file stays readable.
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
};

absl::Status Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) == SQLITE_OK) return absl::OkStatus();
  absl::Status status = absl::InternalError(absl::StrCat("registry: ", error ? error : sqlite3_errmsg(db)));
  sqlite3_free(error);
  return status;
}

absl::Status Migrate(sqlite3* db) {
  absl::Status s = Exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  if (!s.ok()) return s;
  int64_t version = 0;
  {
    Statement q(db, "SELECT MAX(version) FROM schema_version");
    if (q.Next()) version = q.Int(0);
    if (!q.Done().ok()) return q.Done();
  }
  const int64_t known = static_cast<int64_t>(std::size(kMigrations));
  if (version > known) {
    return absl::FailedPreconditionError(
        absl::StrCat("registry schema version ", version, " is newer than this scheduler knows (", known, ")"));
  }
  for (int64_t v = version; v < known; ++v) {
    if (s = Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
    s = Exec(db, kMigrations[v]);
    if (s.ok()) s = Statement(db, "INSERT INTO schema_version(version) VALUES (?)").Bind(1, v + 1).Run();
    if (!s.ok()) {
      (void)Exec(db, "ROLLBACK");
      return s;
    }
    if (s = Exec(db, "COMMIT"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

GroupRecord GroupAt(const Statement& q) { return {q.Text(0), q.Text(1), q.Text(2), q.Int(3) != 0, q.Int(4)}; }
WorkloadRecord WorkloadAt(const Statement& q) {
  return {q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6)};
}

constexpr char kGroupColumns[] = "SELECT id, backend, rule, pinned, created_unix FROM groups";
constexpr char kWorkloadColumns[] =
    "SELECT container_id, name, backend, group_id, platform, rule, created_unix FROM workloads";

}  // namespace

// The statements, on a connection the caller has locked (or in a transaction).
class SqliteStore::Tables final : public Store {
 public:
  explicit Tables(sqlite3* db) : db_(db) {}

  absl::Status PutGroup(const GroupRecord& g) override {
    return Statement(db_, "INSERT OR REPLACE INTO groups VALUES (?, ?, ?, ?, ?)")
        .Bind(1, g.id).Bind(2, g.backend).Bind(3, g.rule).Bind(4, int64_t{g.pinned}).Bind(5, g.created_unix)
        .Run();
  }
  absl::StatusOr<GroupRecord> GetGroup(const std::string& id) override {
    Statement q(db_, absl::StrCat(kGroupColumns, " WHERE id = ?").c_str());
    q.Bind(1, id);
    if (q.Next()) return GroupAt(q);
    if (!q.Done().ok()) return q.Done();
    return absl::NotFoundError(absl::StrCat("no such group: ", id));
  }
  absl::StatusOr<std::vector<GroupRecord>> ListGroups() override {
    Statement q(db_, absl::StrCat(kGroupColumns, " ORDER BY id").c_str());
    std::vector<GroupRecord> out;
    while (q.Next()) out.push_back(GroupAt(q));
    if (!q.Done().ok()) return q.Done();
    return out;
  }
  absl::Status DeleteGroupIfEmpty(const std::string& id) override {
    return Statement(db_,
                     "DELETE FROM groups WHERE id = ? AND pinned = 0 AND "
                     "NOT EXISTS (SELECT 1 FROM workloads WHERE group_id = groups.id)")
        .Bind(1, id)
        .Run();
  }
  absl::Status PinGroup(const std::string& id, const std::string& backend, const std::string& rule) override {
    absl::StatusOr<std::vector<WorkloadRecord>> members = ListWorkloadsInGroup(id);
    if (!members.ok()) return members.status();
    for (const auto& m : *members) {
      if (m.backend != backend) {
        return absl::FailedPreconditionError(absl::StrCat(
            "group ", id, " has ", members->size(), " container(s) running on backend ", m.backend,
            "; remove them before pinning it to ", backend));
      }
    }
    absl::StatusOr<GroupRecord> existing = GetGroup(id);
    GroupRecord g = existing.ok() ? *existing : GroupRecord{id, backend, rule, true, 0};
    g.backend = backend;
    g.rule = rule;
    g.pinned = true;
    return PutGroup(g);
  }
  absl::Status PutWorkload(const WorkloadRecord& w) override {
    return Statement(db_, "INSERT OR REPLACE INTO workloads VALUES (?, ?, ?, ?, ?, ?, ?)")
        .Bind(1, w.container_id).Bind(2, w.name).Bind(3, w.backend).Bind(4, w.group_id).Bind(5, w.platform)
        .Bind(6, w.rule).Bind(7, w.created_unix)
        .Run();
  }
  absl::StatusOr<WorkloadRecord> GetWorkload(const std::string& container_id) override {
    Statement q(db_, absl::StrCat(kWorkloadColumns, " WHERE container_id = ?").c_str());
    q.Bind(1, container_id);
    if (q.Next()) return WorkloadAt(q);
    if (!q.Done().ok()) return q.Done();
    return absl::NotFoundError(absl::StrCat("no such workload: ", container_id));
  }
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloads() override {
    return Workloads(absl::StrCat(kWorkloadColumns, " ORDER BY created_unix, container_id"), "");
  }
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsInGroup(const std::string& group_id) override {
    return Workloads(absl::StrCat(kWorkloadColumns, " WHERE group_id = ? ORDER BY created_unix"), group_id);
  }
  absl::Status DeleteWorkload(const std::string& container_id) override {
    absl::Status s = Statement(db_, "DELETE FROM execs WHERE container_id = ?").Bind(1, container_id).Run();
    if (!s.ok()) return s;
    return Statement(db_, "DELETE FROM workloads WHERE container_id = ?").Bind(1, container_id).Run();
  }
  absl::Status PutExec(const ExecRecord& e) override {
    return Statement(db_, "INSERT OR REPLACE INTO execs VALUES (?, ?, ?)")
        .Bind(1, e.exec_id).Bind(2, e.container_id).Bind(3, e.backend)
        .Run();
  }
  absl::StatusOr<ExecRecord> GetExec(const std::string& exec_id) override {
    Statement q(db_, "SELECT exec_id, container_id, backend FROM execs WHERE exec_id = ?");
    q.Bind(1, exec_id);
    if (q.Next()) return ExecRecord{q.Text(0), q.Text(1), q.Text(2)};
    if (!q.Done().ok()) return q.Done();
    return absl::NotFoundError(absl::StrCat("No such exec instance: ", exec_id));
  }
  // Already inside the caller's transaction.
  absl::Status Apply(const std::function<absl::Status(Store&)>& fn) override { return fn(*this); }

 private:
  absl::StatusOr<std::vector<WorkloadRecord>> Workloads(const std::string& sql, const std::string& arg) {
    Statement q(db_, sql.c_str());
    if (!arg.empty()) q.Bind(1, arg);
    std::vector<WorkloadRecord> out;
    while (q.Next()) out.push_back(WorkloadAt(q));
    if (!q.Done().ok()) return q.Done();
    return out;
  }

  sqlite3* db_;
};

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  if (path != ":memory:") {
    // Created 0600 before SQLite opens it: the registry names every workload.
    int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot open registry ", path));
    ::close(fd);
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::InternalError(absl::StrCat("cannot open registry ", path, ": ", why));
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, 5000);
  absl::Status s = Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if (s.ok()) s = Migrate(db);
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("registry ", path, " is not usable: ", s.message(),
                                            " (move it aside to start with an empty registry)"));
  }
  return store;
}

SqliteStore::SqliteStore(sqlite3* db) : db_(db), tables_(std::make_unique<Tables>(db)) {}

SqliteStore::~SqliteStore() {
  tables_.reset();
  sqlite3_close(db_);
}

#define SY_LOCKED(call)          \
  absl::MutexLock lock(&mu_);    \
  return tables_->call

absl::Status SqliteStore::PutGroup(const GroupRecord& g) { SY_LOCKED(PutGroup(g)); }
absl::StatusOr<GroupRecord> SqliteStore::GetGroup(const std::string& id) { SY_LOCKED(GetGroup(id)); }
absl::StatusOr<std::vector<GroupRecord>> SqliteStore::ListGroups() { SY_LOCKED(ListGroups()); }
absl::Status SqliteStore::DeleteGroupIfEmpty(const std::string& id) { SY_LOCKED(DeleteGroupIfEmpty(id)); }
absl::Status SqliteStore::PutWorkload(const WorkloadRecord& w) { SY_LOCKED(PutWorkload(w)); }
absl::StatusOr<WorkloadRecord> SqliteStore::GetWorkload(const std::string& id) { SY_LOCKED(GetWorkload(id)); }
absl::StatusOr<std::vector<WorkloadRecord>> SqliteStore::ListWorkloads() { SY_LOCKED(ListWorkloads()); }
absl::StatusOr<std::vector<WorkloadRecord>> SqliteStore::ListWorkloadsInGroup(const std::string& group_id) {
  SY_LOCKED(ListWorkloadsInGroup(group_id));
}
absl::Status SqliteStore::DeleteWorkload(const std::string& id) { SY_LOCKED(DeleteWorkload(id)); }
absl::Status SqliteStore::PutExec(const ExecRecord& e) { SY_LOCKED(PutExec(e)); }
absl::StatusOr<ExecRecord> SqliteStore::GetExec(const std::string& id) { SY_LOCKED(GetExec(id)); }

#undef SY_LOCKED

// Pinning reads then writes: one transaction, so a concurrent create cannot
// slip a member in between.
absl::Status SqliteStore::PinGroup(const std::string& id, const std::string& backend, const std::string& rule) {
  return Apply([&](Store& tx) { return tx.PinGroup(id, backend, rule); });
}

absl::Status SqliteStore::Apply(const std::function<absl::Status(Store&)>& fn) {
  absl::MutexLock lock(&mu_);
  absl::Status s = Exec(db_, "BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  s = fn(*tables_);
  if (s.ok()) s = Exec(db_, "COMMIT");
  if (!s.ok()) (void)Exec(db_, "ROLLBACK");
  return s;
}

}  // namespace switchyard::registry
