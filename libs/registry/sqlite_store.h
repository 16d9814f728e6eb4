#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/registry/store.h"

namespace switchyard::registry {

// The registry in one SQLite file (WAL, 0600). Thread-safe: one connection
// behind a mutex; Apply holds it for the whole transaction.
class SqliteStore final : public Store {
 public:
  // Creates or opens the file (":memory:" for tests) and migrates its schema.
  // A file that is not a registry gets an error naming it.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  absl::Status PutGroup(const GroupRecord& group) override;
  absl::StatusOr<GroupRecord> GetGroup(const std::string& id) override;
  absl::StatusOr<std::vector<GroupRecord>> ListGroups() override;
  absl::Status DeleteGroupIfEmpty(const std::string& id) override;
  absl::Status PinGroup(const std::string& id, const std::string& backend, const std::string& rule) override;
  absl::Status PutWorkload(const WorkloadRecord& workload) override;
  absl::StatusOr<WorkloadRecord> GetWorkload(const std::string& container_id) override;
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloads() override;
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsInGroup(const std::string& group_id) override;
  absl::Status DeleteWorkload(const std::string& container_id) override;
  absl::Status PutExec(const ExecRecord& exec) override;
  absl::StatusOr<ExecRecord> GetExec(const std::string& exec_id) override;
  absl::Status Apply(const std::function<absl::Status(Store&)>& fn) override;

 private:
  class Tables;
  explicit SqliteStore(sqlite3* db);

  absl::Mutex mu_;
  sqlite3* db_;
  std::unique_ptr<Tables> tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::registry
