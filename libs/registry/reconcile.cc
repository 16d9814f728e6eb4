#include "libs/registry/reconcile.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace switchyard::registry {
namespace {

std::string Label(const ObservedContainer& c, const std::string& key) {
  auto it = c.labels.find(key);
  return it == c.labels.end() ? "" : it->second;
}

WorkloadRecord Adopted(const ObservedContainer& c) {
  WorkloadRecord w;
  w.container_id = c.container_id;
  w.name = c.name;
  w.backend = c.backend;
  w.group_id = Label(c, "io.switchyard.group");
  if (w.group_id.empty()) w.group_id = absl::StrCat("lone:", c.container_id.substr(0, 12));
  w.platform = Label(c, "io.switchyard.platform");
  w.rule = Label(c, "io.switchyard.rule");
  if (w.rule.empty()) w.rule = absl::StrCat("adopted: found in ", c.backend, " at reconcile");
  w.created_unix = c.created_unix;
  return w;
}

// True when found, false when NotFound; any other error passes through.
template <typename Record>
absl::StatusOr<bool> Recorded(const absl::StatusOr<Record>& found) {
  if (found.ok()) return true;
  if (absl::IsNotFound(found.status())) return false;
  return found.status();
}

}  // namespace

ReconcilePlan PlanReconcile(const std::vector<WorkloadRecord>& recorded,
                            const std::vector<ObservedContainer>& observed,
                            const std::vector<std::string>& backends_answered,
                            const std::vector<GroupRecord>& groups) {
  ReconcilePlan plan;
  absl::flat_hash_map<std::string, const WorkloadRecord*> recorded_by_id;
  for (const WorkloadRecord& w : recorded) recorded_by_id[w.container_id] = &w;
  absl::flat_hash_set<std::string> known_groups;
  for (const GroupRecord& g : groups) known_groups.insert(g.id);

  auto ensure_group = [&](const WorkloadRecord& member) {
    if (known_groups.insert(member.group_id).second) {
      plan.groups_to_create.push_back(
          {member.group_id, member.backend, "adopted: found at reconcile", false, member.created_unix});
    }
  };
  absl::flat_hash_set<std::string> seen;
  for (const ObservedContainer& c : observed) {
    if (!seen.insert(c.container_id).second) continue;  // a guest listed it twice
    auto it = recorded_by_id.find(c.container_id);
    if (it == recorded_by_id.end()) {
      WorkloadRecord adopted = Adopted(c);
      ensure_group(adopted);
      plan.to_add.push_back(std::move(adopted));
    } else if (it->second->backend != c.backend || it->second->name != c.name) {
      WorkloadRecord updated = *it->second;
      updated.backend = c.backend;
      updated.name = c.name;
      ensure_group(updated);
      plan.to_update.push_back(std::move(updated));
    }
  }
  for (const WorkloadRecord& w : recorded) {
    const bool answered =
        std::find(backends_answered.begin(), backends_answered.end(), w.backend) != backends_answered.end();
    if (answered && !seen.contains(w.container_id)) plan.to_remove.push_back(w.container_id);
  }
  return plan;
}

absl::Status ApplyReconcile(Store& store, const ReconcilePlan& plan) {
  return store.Apply([&](Store& tx) -> absl::Status {
    for (const GroupRecord& g : plan.groups_to_create) {
      absl::StatusOr<bool> exists = Recorded(tx.GetGroup(g.id));
      if (!exists.ok()) return exists.status();
      if (*exists) continue;
      if (absl::Status s = tx.PutGroup(g); !s.ok()) return s;
    }
    for (const WorkloadRecord& w : plan.to_add) {
      absl::StatusOr<bool> exists = Recorded(tx.GetWorkload(w.container_id));
      if (!exists.ok()) return exists.status();
      if (*exists) continue;
      if (absl::Status s = tx.PutWorkload(w); !s.ok()) return s;
    }
    for (const WorkloadRecord& w : plan.to_update) {
      if (absl::Status s = tx.PutWorkload(w); !s.ok()) return s;
    }
    for (const std::string& id : plan.to_remove) {
      absl::StatusOr<WorkloadRecord> gone = tx.GetWorkload(id);
      if (absl::IsNotFound(gone.status())) continue;
      if (!gone.ok()) return gone.status();
      if (absl::Status s = tx.DeleteWorkload(id); !s.ok()) return s;
      if (absl::Status s = tx.DeleteGroupIfEmpty(gone->group_id); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

}  // namespace switchyard::registry
