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
  std::vector<WorkloadRecord> to_add;     // running, but unknown to the registry
  std::vector<std::string> to_remove;     // recorded, gone from a backend that answered
  std::vector<WorkloadRecord> to_update;  // recorded elsewhere or under another name
  std::vector<GroupRecord> groups_to_create;
};

// The guests are the truth; a backend that did not answer keeps its records.
// Pure: the same inputs always give the same plan, and a second run after
// applying it gives an empty one.
ReconcilePlan PlanReconcile(const std::vector<WorkloadRecord>& recorded,
                            const std::vector<ObservedContainer>& observed,
                            const std::vector<std::string>& backends_answered,
                            const std::vector<GroupRecord>& groups);

// Executes a plan in one transaction, dropping groups it leaves empty.
absl::Status ApplyReconcile(Store& store, const ReconcilePlan& plan);

}  // namespace switchyard::registry
