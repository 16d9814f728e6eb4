#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/registry/records.h"

namespace switchyard::registry {

// The scheduler's durable record of every placement decision.
// Get* answer NotFound when absent; Put* insert or replace; Delete* of
// something absent succeeds, so a repeated cleanup is harmless.
class Store {
 public:
  virtual ~Store() = default;

  virtual absl::Status PutGroup(const GroupRecord& group) = 0;
  virtual absl::StatusOr<GroupRecord> GetGroup(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<GroupRecord>> ListGroups() = 0;
  // FailedPrecondition while a workload, network or volume still names it.
  virtual absl::Status DeleteGroup(const std::string& id) = 0;
  // Deletes the group only when it is unpinned and has no members.
  virtual absl::Status DeleteGroupIfEmpty(const std::string& id) = 0;
  // Creates the group if needed and pins it to `backend`. FailedPrecondition,
  // naming the group, the other backend and the member count, when members
  // already live on another backend.
  virtual absl::Status PinGroup(const std::string& id, const std::string& backend, const std::string& rule) = 0;

  virtual absl::Status PutWorkload(const WorkloadRecord& workload) = 0;
  virtual absl::StatusOr<WorkloadRecord> GetWorkload(const std::string& container_id) = 0;
  virtual absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloads() = 0;
  virtual absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsOnBackend(const std::string& backend) = 0;
  virtual absl::StatusOr<std::vector<WorkloadRecord>> ListWorkloadsInGroup(const std::string& group_id) = 0;
  // Also forgets the container's execs.
  virtual absl::Status DeleteWorkload(const std::string& container_id) = 0;

  virtual absl::Status PutExec(const ExecRecord& exec) = 0;
  virtual absl::StatusOr<ExecRecord> GetExec(const std::string& exec_id) = 0;
  virtual absl::StatusOr<std::vector<ExecRecord>> ListExecs() = 0;
  virtual absl::Status DeleteExec(const std::string& exec_id) = 0;

  // A network or volume naming a group needs that group to exist
  // (FailedPrecondition otherwise); an empty group_id names none.
  virtual absl::Status PutNetwork(const NetworkRecord& network) = 0;
  virtual absl::StatusOr<NetworkRecord> GetNetwork(const std::string& network_id) = 0;
  virtual absl::StatusOr<std::vector<NetworkRecord>> ListNetworks() = 0;
  virtual absl::Status DeleteNetwork(const std::string& network_id) = 0;

  virtual absl::Status PutVolume(const VolumeRecord& volume) = 0;
  virtual absl::StatusOr<VolumeRecord> GetVolume(const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<VolumeRecord>> ListVolumes() = 0;
  virtual absl::Status DeleteVolume(const std::string& name) = 0;

  virtual absl::Status PutImage(const ImageRecord& image) = 0;
  virtual absl::StatusOr<ImageRecord> GetImage(const std::string& image_id, const std::string& backend) = 0;
  virtual absl::StatusOr<std::vector<ImageRecord>> ListImages() = 0;
  virtual absl::Status DeleteImage(const std::string& image_id, const std::string& backend) = 0;

  // Runs `fn` in one transaction: all of its writes or, when it returns an
  // error, none. `fn` must use the Store it is given, which may nest Apply.
  virtual absl::Status Apply(const std::function<absl::Status(Store&)>& fn) = 0;
};

}  // namespace switchyard::registry
