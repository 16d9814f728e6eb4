#include "services/scheduler/placer.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/compose/compose_project.h"
#include "services/scheduler/group_ref.h"

namespace switchyard::scheduler {

using placement::Decision;

absl::StatusOr<Decision> Placer::Alone(const std::string& platform, const std::string& image,
                                       const placement::BackendView& hv, const placement::BackendView& vz) {
  placement::WorkloadNeeds needs{platform, {}};
  if (platform.empty() && !image.empty()) needs.image_archs = images_->Archs(image);
  return placement::Route(settings_.routing, needs, hv, vz);
}

absl::StatusOr<Decision> Placer::PlaceProject(const std::string& group_id, const std::vector<std::string>& files,
                                              const Decision& alone, const placement::BackendView& hv,
                                              const placement::BackendView& vz) {
  absl::StatusOr<std::map<std::string, compose::ServiceSpec>> services = compose::ReadServices(files);
  if (!services.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot place compose project ", group_id.substr(8), ": ", services.status().message()));
  }
  std::vector<Decision> members;
  for (const auto& [name, service] : *services) {
    // A built service's image is built here, for the native arch.
    absl::StatusOr<Decision> d = service.built && service.platform.empty()
                                     ? Alone(settings_.routing.native_arch, "", hv, vz)
                                     : Alone(service.platform, service.image, hv, vz);
    if (!d.ok()) {
      return absl::Status(d.status().code(),
                          absl::StrCat("compose project ", group_id.substr(8), ", service ", name, ": ",
                                       d.status().message()));
    }
    d->rule = absl::StrCat("service ", name, ": ", d->rule);
    members.push_back(*d);
  }
  absl::StatusOr<Decision> whole =
      placement::PlaceWholeGroup(settings_.routing, group_id, members, hv, vz, settings_.allow_mixed_groups);
  if (!whole.ok()) return whole.status();
  Decision d = alone;
  if (!whole->backend.empty()) d.backend = whole->backend;
  d.rule = whole->backend.empty() ? absl::StrCat(whole->rule, "; this member: ", alone.rule) : whole->rule;
  return d;
}

absl::StatusOr<PlacedWorkload> Placer::Place(const std::string& platform, const nlohmann::json& spec,
                                             const std::optional<ResourcePin>& pin) {
  absl::StatusOr<PlacedWorkload> placed = PlaceInGroup(platform, spec);
  if (!placed.ok() || !pin.has_value() || placed->decision.backend == pin->backend) return placed;
  // The network or volume cannot move (it holds data or members), so the
  // container goes to it if its group and its image allow.
  if (!placed->group_id.empty()) {
    placement::GroupState group = groups_.group(placed->group_id);
    if (group.exists && (group.members > 0 || group.pinned)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create this container: ", pin->what, " lives on backend ", pin->backend, ", but its group ",
          group.id, " runs on backend ", group.backend, " and a group never spans backends. Use a ",
          absl::StartsWith(pin->what, "network") ? "network" : "volume", " of backend ", group.backend,
          " or move the group there: switchyardctl group pin ", group.id, " ", pin->backend));
    }
  }
  auto [hv, vz] = views_->Get();
  const placement::BackendView& target = pin->backend == "vz" ? vz : hv;
  if (!placement::CanRun(settings_.routing, target, placed->decision.arch)) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create this container: ", pin->what,
                                                      " lives on backend ", pin->backend, ", but ",
                                                      placed->decision.rule, " needs backend ",
                                                      placed->decision.backend));
  }
  placed->decision.backend = pin->backend;
  placed->decision.needs_translation = !placement::RunsNatively(settings_.routing.native_arch, placed->decision.arch);
  placed->decision.rule = absl::StrCat(pin->what, " lives on ", pin->backend, " (", placed->decision.rule, ")");
  return placed;
}

absl::StatusOr<PlacedWorkload> Placer::PlaceInGroup(const std::string& platform, const nlohmann::json& spec) {
  absl::StatusOr<GroupRef> ref = GroupRefFor(spec);
  if (!ref.ok()) return ref.status();
  const std::string image = spec.is_object() && spec.contains("Image") && spec["Image"].is_string()
                                ? spec["Image"].get<std::string>()
                                : "";
  auto [hv, vz] = views_->Get();
  absl::StatusOr<Decision> alone = Alone(platform, image, hv, vz);
  if (!alone.ok()) return alone.status();

  PlacedWorkload placed;
  placed.group_id = ref->id;
  std::string first_shared;  // the container whose group this one joins
  for (const std::string& container : ref->shares_with) {
    absl::StatusOr<std::string> joined = groups_.group_of_container(container);
    if (!joined.ok()) return joined.status();
    if (placed.group_id.empty()) {
      placed.group_id = *joined;
      first_shared = container;
      continue;
    }
    if (*joined == placed.group_id ||
        std::find(placed.merged_groups.begin(), placed.merged_groups.end(), *joined) != placed.merged_groups.end()) {
      continue;
    }
    // A lone container's group joins another group; a Compose project or
    // pod never merges into another.
    const bool mine_lone = absl::StartsWith(placed.group_id, "lone:");
    const bool theirs_lone = absl::StartsWith(*joined, "lone:");
    if (ref->kind != GroupRef::Kind::kShared || (!mine_lone && !theirs_lone)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "this container belongs to group ", placed.group_id, " but shares namespaces with ", container,
          " of group ", *joined, ": a group never spans another group; share only within one group"));
    }
    // Two groups on one backend become one; across backends they cannot.
    placement::GroupState mine = groups_.group(placed.group_id), theirs = groups_.group(*joined);
    if (mine.exists && theirs.exists && mine.backend != theirs.backend) {
      return absl::InvalidArgumentError(absl::StrCat(
          "container shares namespaces with ", first_shared, " (group ", placed.group_id, " on backend ",
          mine.backend, ") and ", container, " (group ", *joined, " on backend ", theirs.backend,
          "): a group lives on one backend; move one with `switchyardctl group pin GROUP BACKEND` once it is empty"));
    }
    if (theirs_lone) {
      placed.merged_groups.push_back(*joined);
    } else {
      placed.merged_groups.push_back(placed.group_id);
      placed.group_id = *joined;
      first_shared = container;
    }
  }
  if (placed.group_id.empty()) {
    placed.decision = *alone;
    placed.group_is_new = true;
    return placed;
  }

  placement::GroupState group = groups_.group(placed.group_id);
  placed.group_is_new = !group.exists;
  const bool first_member = !group.exists || (group.members == 0 && !group.pinned);
  if (first_member && ref->kind == GroupRef::Kind::kCompose && !ref->compose_files.empty()) {
    absl::StatusOr<Decision> d = PlaceProject(placed.group_id, ref->compose_files, *alone, hv, vz);
    if (!d.ok()) return d.status();
    placed.decision = *d;
    return placed;
  }
  absl::StatusOr<Decision> d = placement::PlaceMember(settings_.routing, *alone, group, hv, vz);
  if (!d.ok()) return d.status();
  placed.decision = *d;
  return placed;
}

absl::StatusOr<Decision> Placer::PlacePull(const std::string& platform, const std::string& image) {
  auto [hv, vz] = views_->Get();
  placement::WorkloadNeeds needs{platform, {}};
  // A pull must see every variant the registry offers, not what a guest has.
  if (platform.empty()) needs.image_archs = images_->RegistryArchs(image);
  return placement::Route(settings_.routing, needs, hv, vz);
}

absl::StatusOr<Decision> Placer::PlaceBuild(const std::vector<BuildBase>& bases) {
  auto [hv, vz] = views_->Get();
  std::vector<Decision> stages;
  for (const BuildBase& base : bases) {
    if (base.image.empty() && base.platform.empty()) continue;  // scratch, or an earlier stage
    absl::StatusOr<Decision> d = Alone(base.platform, base.image, hv, vz);
    if (!d.ok()) return d.status();
    d->rule = absl::StrCat("FROM ", base.image.empty() ? "scratch" : base.image, ": ", d->rule);
    stages.push_back(*d);
  }
  if (stages.empty()) return Alone(settings_.routing.native_arch, "", hv, vz);
  absl::StatusOr<Decision> whole =
      placement::PlaceWholeGroup(settings_.routing, "build", stages, hv, vz, /*allow_mixed=*/false);
  if (!whole.ok()) return whole.status();
  return whole->backend.empty() ? stages.front() : *whole;
}

absl::StatusOr<Decision> Placer::PlaceArch(const std::string& arch) {
  auto [hv, vz] = views_->Get();
  return placement::Route(settings_.routing, {"", {arch}}, hv, vz);
}

}  // namespace switchyard::scheduler
