#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/registry/records.h"
#include "libs/registry/store.h"

namespace switchyard::registry {

// A container as a guest engine reports it.
struct ObservedContainer {
  std::string container_id;
  std::string name;
  std::string backend;
  std::map<std::string, std::string> labels;
  int64_t created_unix = 0;
};

struct ReconcilePlan {
  std::vector<WorkloadRecord> to_add;         // running, but unknown to the registry
  std::vector<std::string> to_remove;         // container ids recorded, gone from a backend that answered
  std::vector<WorkloadRecord> to_update;      // recorded on another backend or under another name
  std::vector<GroupRecord> groups_to_create;  // named by to_add or to_update, unknown so far
};

// The guests are the truth; a backend that did not answer keeps its records.
// An adopted container takes its group, platform and rule from its
// io.switchyard.* labels; without a group label it forms "lone:<short id>",
// the group the scheduler gives a container it did not create.
// Pure: the same inputs give the same plan, and planning again after
// applying it gives an empty one.
ReconcilePlan PlanReconcile(const std::vector<WorkloadRecord>& recorded,
                            const std::vector<ObservedContainer>& observed,
                            const std::vector<std::string>& backends_answered,
                            const std::vector<GroupRecord>& groups);

// Executes a plan in one transaction: forgets removed containers with their
// execs and drops the unpinned groups they leave empty. A container or group
// recorded since the plan was made keeps its record.
absl::Status ApplyReconcile(Store& store, const ReconcilePlan& plan);

}  // namespace switchyard::registry
