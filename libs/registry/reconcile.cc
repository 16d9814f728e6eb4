#include "libs/registry/reconcile.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace switchyard::registry {
namespace {

std::string Label(const ObservedContainer& c, const std::string& key) {
  auto it = c.labels.find(key);
  return it == c.labels.end() ? "" : it->second;
}

WorkloadRecord FromObserved(const ObservedContainer& c) {
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

}  // namespace

ReconcilePlan PlanReconcile(const std::vector<WorkloadRecord>& recorded,
                            const std::vector<ObservedContainer>& observed,
                            const std::vector<std::string>& backends_answered,
                            const std::vector<GroupRecord>& groups) {
  ReconcilePlan plan;
  absl::flat_hash_map<std::string, const WorkloadRecord*> by_id;
  for (const auto& w : recorded) by_id[w.container_id] = &w;
  std::set<std::string> seen;
  std::set<std::string> known_groups;
  for (const auto& g : groups) known_groups.insert(g.id);

  auto need_group = [&](const WorkloadRecord& w) {
    if (known_groups.insert(w.group_id).second) {
      plan.groups_to_create.push_back({w.group_id, w.backend, "adopted: found at reconcile", false, w.created_unix});
    }
  };
  for (const auto& c : observed) {
    if (!seen.insert(c.container_id).second) continue;
    auto it = by_id.find(c.container_id);
    if (it == by_id.end()) {
      WorkloadRecord w = FromObserved(c);
      need_group(w);
      plan.to_add.push_back(std::move(w));
      continue;
    }
    const WorkloadRecord& w = *it->second;
    if (w.backend != c.backend || w.name != c.name) {
      WorkloadRecord updated = w;
      updated.backend = c.backend;
      updated.name = c.name;
      need_group(updated);
      plan.to_update.push_back(std::move(updated));
    }
  }
  for (const auto& w : recorded) {
    const bool answered =
        std::find(backends_answered.begin(), backends_answered.end(), w.backend) != backends_answered.end();
    if (answered && !seen.count(w.container_id)) plan.to_remove.push_back(w.container_id);
  }
  return plan;
}

absl::Status ApplyReconcile(Store& store, const ReconcilePlan& plan) {
  return store.Apply([&](Store& tx) -> absl::Status {
    for (const auto& g : plan.groups_to_create) {
      if (absl::Status s = tx.PutGroup(g); !s.ok()) return s;
    }
    for (const auto* list : {&plan.to_add, &plan.to_update}) {
      for (const auto& w : *list) {
        if (absl::Status s = tx.PutWorkload(w); !s.ok()) return s;
      }
    }
    for (const auto& id : plan.to_remove) {
      absl::StatusOr<WorkloadRecord> w = tx.GetWorkload(id);
      if (!w.ok()) continue;
      if (absl::Status s = tx.DeleteWorkload(id); !s.ok()) return s;
      if (absl::Status s = tx.DeleteGroupIfEmpty(w->group_id); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

}  // namespace switchyard::registry
