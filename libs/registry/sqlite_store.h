#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/registry/store.h"

namespace switchyard::registry {

// The registry in one SQLite file: WAL, synchronous=NORMAL, created 0600.
// Thread-safe: one connection behind a mutex; Apply holds it for the whole
// transaction and hands `fn` a view that does not lock again.
class SqliteStore final : public Store {
 public:
  // Creates or opens the file (":memory:" for tests) and migrates its schema.
  // A file that is not a registry gets an error naming it: DataLoss when it is
  // not SQLite or is corrupt, InvalidArgument when it is another program's
  // database, FailedPrecondition when a newer scheduler wrote it.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  absl::Status PutGroup(const GroupRecord& group) override;
  absl::StatusOr<GroupRecord> GetGroup(const std::string& id) override;
  absl::StatusOr<std::vector<GroupRecord>> ListGroups() override;
  absl::Status DeleteGroup(const std::string& id) override;
  absl::Status DeleteGroupIfEmpty(const std::string& id) override;
  absl::Status PinGroup(const std::string& id, const std::string& backend, const std::string& rule) override;

  absl::Status PutWorkload(const WorkloadRecord& workload) override;
  absl::StatusOr<WorkloadRecord> GetWorkload(const std::string& container_id) override;
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloads() override;
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsOnBackend(const std::string& backend) override;
  absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsInGroup(const std::string& group_id) override;
  absl::Status DeleteWorkload(const std::string& container_id) override;

  absl::Status PutExec(const ExecRecord& exec) override;
  absl::StatusOr<ExecRecord> GetExec(const std::string& exec_id) override;
  absl::StatusOr<std::vector<ExecRecord>> ListExecs() override;
  absl::Status DeleteExec(const std::string& exec_id) override;

  absl::Status PutNetwork(const NetworkRecord& network) override;
  absl::StatusOr<NetworkRecord> GetNetwork(const std::string& network_id) override;
  absl::StatusOr<std::vector<NetworkRecord>> ListNetworks() override;
  absl::Status DeleteNetwork(const std::string& network_id) override;

  absl::Status PutVolume(const VolumeRecord& volume) override;
  absl::StatusOr<VolumeRecord> GetVolume(const std::string& name) override;
  absl::StatusOr<std::vector<VolumeRecord>> ListVolumes() override;
  absl::Status DeleteVolume(const std::string& name) override;

  absl::Status PutImage(const ImageRecord& image) override;
  absl::StatusOr<ImageRecord> GetImage(const std::string& image_id, const std::string& backend) override;
  absl::StatusOr<std::vector<ImageRecord>> ListImages() override;
  absl::Status DeleteImage(const std::string& image_id, const std::string& backend) override;

  absl::Status Apply(const std::function<absl::Status(Store&)>& fn) override;

 private:
  explicit SqliteStore(sqlite3* db);

  // Calls `method` on the tables with the connection locked.
  template <typename Result, typename... Params, typename... Args>
  Result Locked(Result (Store::*method)(Params...), Args&&... args) {
    absl::MutexLock lock(&mu_);
    return (tables_.get()->*method)(std::forward<Args>(args)...);
  }

  absl::Mutex mu_;
  sqlite3* db_;
  std::unique_ptr<Store> tables_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::registry
