#include "libs/placement/group_policy.h"

#include "absl/strings/str_cat.h"

namespace switchyard::placement {

absl::StatusOr<Decision> PlaceMember(const RoutingConfig& config, const Decision& alone,
                                     const GroupState& group, const BackendView& hv,
                                     const BackendView& vz) {
  if (!group.exists || (group.members == 0 && !group.pinned)) {
    Decision d = alone;
    d.rule = absl::StrCat("group ", group.id, " placed by its first member: ", alone.rule);
    return d;
  }
  const BackendView& target = group.backend == "vz" ? vz : hv;
  if (alone.backend == group.backend || CanRun(config, target, alone.arch)) {
    Decision d = alone;
    d.backend = group.backend;
    d.needs_translation = !RunsNatively(config.native_arch, alone.arch);
    d.rule = absl::StrCat("joins group ", group.id, " on ", group.backend,
                          group.pinned ? " (pinned)" : absl::StrCat(" (", group.rule, ")"));
    return d;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot add this container to group ", group.id, ": the group runs on backend ", group.backend,
      group.pinned ? " (pinned)" : absl::StrCat(" (rule: ", group.rule, ")"), " and a group never spans backends, but ",
      alone.rule, " needs backend ", alone.backend,
      ". Remove the group's containers so that it can be placed anew, or pin it first: switchyardctl group pin ",
      group.id, " ", alone.backend));
}

absl::StatusOr<Decision> PlaceWholeGroup(const RoutingConfig& config, const std::string& group_id,
                                         const std::vector<Decision>& members, const BackendView& hv,
                                         const BackendView& vz, bool allow_mixed) {
  bool all_hv = true;
  bool all_vz = true;
  std::string translated;
  for (const Decision& m : members) {
    all_hv = all_hv && CanRun(config, hv, m.arch);
    all_vz = all_vz && CanRun(config, vz, m.arch);
    if (m.needs_translation && translated.empty()) translated = m.rule;
  }
  if (all_hv && translated.empty()) {
    return Decision{"hv", absl::StrCat("group ", group_id, ": every member has a native variant: hv"),
                    config.native_arch, false};
  }
  if (all_vz) {
    return Decision{"vz", absl::StrCat("group ", group_id, ": a member needs translation (", translated,
                                       "): the whole group on vz"),
                    config.native_arch, true};
  }
  if (all_hv) {
    return Decision{"hv", absl::StrCat("group ", group_id, ": translated on hv's fallback (", translated, ")"),
                    config.native_arch, true};
  }
  if (allow_mixed) {
    return Decision{"", absl::StrCat("group ", group_id, ": mixed backends (experimental)"), "", false};
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "group ", group_id, " cannot run on one backend: some members need backend hv and others backend vz; "
      "mixed-backend groups are refused unless experimental.mixed_groups is enabled"));
}

}  // namespace switchyard::placement
