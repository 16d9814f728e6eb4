#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/registry/records.h"

namespace switchyard::registry {

// The scheduler's durable record of every placement decision. Get* return
// NotFound when absent; Put* insert or replace.
class Store {
 public:
  virtual ~Store() = default;

  virtual absl::Status PutGroup(const GroupRecord& group) = 0;
  virtual absl::StatusOr<GroupRecord> GetGroup(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<GroupRecord>> ListGroups() = 0;
  // Deletes a group without members unless it is pinned.
  virtual absl::Status DeleteGroupIfEmpty(const std::string& id) = 0;
  // Creates or pins the group on `backend`. FailedPrecondition when its
  // members already run on another backend.
  virtual absl::Status PinGroup(const std::string& id, const std::string& backend, const std::string& rule) = 0;

  virtual absl::Status PutWorkload(const WorkloadRecord& workload) = 0;
  virtual absl::StatusOr<WorkloadRecord> GetWorkload(const std::string& container_id) = 0;
  virtual absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloads() = 0;
  virtual absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsInGroup(const std::string& group_id) = 0;
  // Also forgets the container's execs.
  virtual absl::Status DeleteWorkload(const std::string& container_id) = 0;

  virtual absl::Status PutExec(const ExecRecord& exec) = 0;
  virtual absl::StatusOr<ExecRecord> GetExec(const std::string& exec_id) = 0;

  // Runs `fn` in one transaction: all of its writes or none.
  virtual absl::Status Apply(const std::function<absl::Status(Store&)>& fn) = 0;
};

}  // namespace switchyard::registry
