#include "services/scheduler/scheduler_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "libs/http/api_target.h"
#include "libs/http/docker_error.h"
#include "libs/placement/platform.h"
#include "services/scheduler/fan_out.h"
#include "services/scheduler/names.h"
#include "services/scheduler/order_filters.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

// dockerd's 404 for an image it does not hold at all (not one held for
// another platform).
bool IsNoSuchImage(const EngineReply& reply) {
  json body = json::parse(reply.body, nullptr, false);
  return body.is_object() && body.contains("message") && body["message"].is_string() &&
         absl::StartsWith(body["message"].get<std::string>(), "No such image");
}

constexpr char kImageBackendsLabel[] = "io.switchyard.backends";

std::vector<BackendClient*> Raw(const std::vector<std::unique_ptr<BackendClient>>& backends) {
  std::vector<BackendClient*> raw;
  for (const auto& b : backends) raw.push_back(b.get());
  return raw;
}

}  // namespace

SchedulerCore::SchedulerCore(std::vector<std::unique_ptr<BackendClient>> backends, PlacerSettings settings,
                             ImagePlatforms::RegistryLookup registry_lookup, registry::Store* store)
    : backends_(std::move(backends)),
      store_(store),
      views_(backends_.at(0).get(), backends_.at(1).get()),
      images_(Raw(backends_), std::move(registry_lookup)),
      placer_(std::move(settings), &views_, &images_,
              GroupDirectory{[this](const std::string& id) { return GroupState(id); },
                             [this](const std::string& ref) { return GroupOfContainer(ref); }}),
      resources_(Raw(backends_), store_, [this](const std::string& ref) { return ResolveContainer(ref); }),
      image_records_(store_) {
  auto [first, last] = EphemeralPortRange();
  ports_ = std::make_unique<PortKeeper>(Raw(backends_), first, last);
}

BackendClient* SchedulerCore::Backend(const std::string& name) const {
  for (const auto& b : backends_) {
    if (b->name() == name) return b.get();
  }
  return nullptr;
}

void SchedulerCore::Remember(const std::string& id, const std::string& backend) {
  absl::MutexLock lock(&mu_);
  container_backend_[id] = backend;
}

placement::GroupState SchedulerCore::GroupState(const std::string& group_id) {
  placement::GroupState state;
  state.id = group_id;
  absl::StatusOr<registry::GroupRecord> group = store_->GetGroup(group_id);
  if (!group.ok()) return state;
  state.exists = true;
  state.backend = group->backend;
  state.rule = group->rule;
  state.pinned = group->pinned;
  absl::StatusOr<std::vector<registry::WorkloadRecord>> members = store_->ListWorkloadsInGroup(group_id);
  state.members = members.ok() ? static_cast<int>(members->size()) : 0;
  return state;
}

absl::StatusOr<std::string> SchedulerCore::GroupOfContainer(const std::string& ref) {
  absl::StatusOr<resolve::Resolution> resolved = ResolveContainer(ref);
  if (!resolved.ok()) return resolved.status();
  absl::StatusOr<registry::WorkloadRecord> record = store_->GetWorkload(resolved->id);
  if (record.ok() && !record->group_id.empty()) return record->group_id;
  // Not created through us (or not yet reconciled): it forms its own group.
  return absl::StrCat("lone:", resolved->id.substr(0, 12));
}

bool NoVmHolds(const absl::Status& status) {
  return absl::IsNotFound(status) && !status.GetPayload(kPartialAnswer).has_value();
}

absl::Status SchedulerCore::CheckNameFree(const std::string& name, const std::string& except_backend) {
  const std::string target = absl::StrCat("/containers/", http::UrlEncode(name), "/json");
  for (const auto& backend : backends_) {
    if (backend->name() == except_backend) continue;
    absl::StatusOr<EngineReply> reply = backend->Call("GET", target);
    if (!reply.ok() || reply->status != 200) continue;
    json found = json::parse(reply->body, nullptr, false);
    if (!found.is_object() || found.value("Name", "") != absl::StrCat("/", name)) continue;
    return absl::AlreadyExistsError(absl::StrCat(
        "Conflict. The container name \"/", name, "\" is already in use by container \"",
        found.value("Id", ""), "\". You have to remove (or rename) that container to be able to reuse that name."));
  }
  return absl::OkStatus();
}

absl::StatusOr<EngineReply> SchedulerCore::CreateContainer(const std::string& api_version,
                                                           const std::string& name,
                                                           const std::string& platform,
                                                           const std::string& body) {
  json spec = json::parse(body, nullptr, false);
  std::string query;
  if (!name.empty()) query = absl::StrCat("name=", http::UrlEncode(name));
  if (!platform.empty()) absl::StrAppend(&query, query.empty() ? "" : "&", "platform=", http::UrlEncode(platform));
  const std::string target = http::BuildTarget(api_version, "/containers/create", query);

  // A body dockerd would reject goes to it untouched, so the client gets
  // dockerd's own error text.
  const bool well_formed = spec.is_object() && (!spec.contains("Image") || spec["Image"].is_string()) &&
                           (!spec.contains("Labels") || spec["Labels"].is_object() || spec["Labels"].is_null()) &&
                           (!spec.contains("HostConfig") || spec["HostConfig"].is_object() ||
                            spec["HostConfig"].is_null());
  if (!well_formed) return backends_.front()->Call("POST", target, body);

  // A platform string dockerd would not parse, or a container to share
  // that no VM holds: dockerd answers the create as sent, in its own words
  // (a 404 "does not match the specified platform", a 400 for the
  // --volumes-from).
  if (!platform.empty() && !placement::ParsePlatform(platform).ok()) return backends_.front()->Call("POST", target, body);
  absl::StatusOr<std::optional<ResourcePin>> pin = resources_.PinFor(spec);
  if (!pin.ok()) return pin.status();
  absl::StatusOr<PlacedWorkload> placed = placer_.Place(platform, spec, *pin);
  if (NoVmHolds(placed.status())) return backends_.front()->Call("POST", target, body);
  if (!placed.ok()) return placed.status();
  BackendClient* backend = Backend(placed->decision.backend);
  if (backend == nullptr) {
    return absl::UnavailableError(absl::StrCat("backend ", placed->decision.backend, " is not configured"));
  }
  // A lone container's group is named after a fresh id; a container that
  // later shares its namespaces joins it.
  std::string group_id = placed->group_id;
  if (group_id.empty()) {
    absl::BitGen gen;
    group_id = absl::StrFormat("lone:%012x", absl::Uniform<uint64_t>(gen) & 0xffffffffffffULL);
  }

  // Labels let a restarted scheduler rebuild its registry from the guests.
  json& labels = spec["Labels"];
  if (!labels.is_object()) labels = json::object();
  labels["io.switchyard.backend"] = backend->name();
  labels["io.switchyard.group"] = group_id;
  labels["io.switchyard.platform"] = platform;
  labels["io.switchyard.rule"] = placed->decision.rule;
  // Host ports are one space over both VMs: the guest gets explicit ones.
  if (absl::Status assigned = ports_->AssignHostPorts(spec, *backend, api_version); !assigned.ok()) return assigned;
  const std::string forwarded = spec.dump();

  std::optional<absl::MutexLock> name_lock;
  if (!name.empty()) {
    name_lock.emplace(&names_mu_);
    absl::Status free = CheckNameFree(StripSlash(name), backend->name());
    if (!free.ok()) return free;
  }
  absl::StatusOr<EngineReply> reply = backend->Call("POST", target, forwarded);
  const std::string image = spec.value("Image", "");
  // The image lives only in the other VM (built, loaded or committed
  // there): it follows the workload, and the create is made again. A 404
  // for an image this VM holds for another platform is its engine's answer.
  if (reply.ok() && reply->status == 404 && !image.empty() && IsNoSuchImage(*reply)) {
    absl::StatusOr<bool> copied =
        BringImage(image, platform, *backend, absl::StrCat("a container create on ", backend->name()));
    if (!copied.ok()) return copied.status();
    if (*copied) reply = backend->Call("POST", target, forwarded);
  }
  if (reply.ok() && reply->status == 404 && !image.empty()) image_wants_.Note(image, backend->name());
  if (!reply.ok() || reply->status != 201) return reply;
  if (!image.empty()) image_wants_.Forget(image);
  json created = json::parse(reply->body, nullptr, false);
  if (!created.is_object() || !created["Id"].is_string()) return reply;
  const std::string id = created["Id"].get<std::string>();
  Remember(id, backend->name());
  registry::WorkloadRecord record{id, StripSlash(name), backend->name(), group_id, platform,
                                  placed->decision.rule, absl::ToUnixSeconds(absl::Now())};
  absl::Status recorded = store_->Apply([&](registry::Store& tx) -> absl::Status {
    if (!tx.GetGroup(group_id).ok()) {
      absl::Status s = tx.PutGroup({group_id, backend->name(), placed->decision.rule, false, record.created_unix});
      if (!s.ok()) return s;
    }
    if (absl::Status s = tx.PutWorkload(record); !s.ok()) return s;
    return MergeGroups(tx, group_id, placed->merged_groups);
  });
  if (!recorded.ok()) {
    // The container exists; the periodic reconcile adopts it from its labels.
    spdlog::error("container={} backend={} group={} not recorded: {}", id.substr(0, 12), backend->name(), group_id,
                  recorded.ToString());
  }
  resources_.Settle(spec, *backend, group_id);
  spdlog::info("container={} backend={} group={} created ({})", id.substr(0, 12), backend->name(), group_id,
               placed->decision.rule);
  return reply;
}

absl::Status SchedulerCore::MergeGroups(registry::Store& tx, const std::string& into,
                                        const std::vector<std::string>& groups) {
  for (const std::string& group : groups) {
    absl::StatusOr<std::vector<registry::WorkloadRecord>> members = tx.ListWorkloadsInGroup(group);
    if (!members.ok()) return members.status();
    for (registry::WorkloadRecord member : *members) {
      member.group_id = into;
      if (absl::Status s = tx.PutWorkload(member); !s.ok()) return s;
    }
    if (absl::Status s = tx.DeleteGroupIfEmpty(group); !s.ok()) return s;
    spdlog::info("group={} merged into group={} ({} members): a container shares namespaces with both", group,
                 into, members->size());
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> SchedulerCore::CreatedOf(const std::string& kind, const std::string& ref) {
  BackendClient* holder = nullptr;
  std::string id = ref;
  if (kind == "containers") {
    absl::StatusOr<resolve::Resolution> resolved = ResolveContainer(ref);
    if (!resolved.ok()) return resolved.status();
    holder = Backend(resolved->backend);
    id = resolved->id;
  } else {
    std::vector<BackendClient*> holders = BackendsWithImage("", http::UrlEncode(ref));
    if (!holders.empty()) holder = holders.front();
  }
  if (holder == nullptr) return absl::NotFoundError(absl::StrCat("No such image: ", ref));
  absl::StatusOr<EngineReply> inspected = holder->Call("GET", absl::StrCat("/", kind, "/", http::UrlEncode(id), "/json"));
  if (!inspected.ok()) return inspected.status();
  if (inspected->status != 200) return http::StatusFromDockerError(inspected->status, inspected->body);
  json object = json::parse(inspected->body, nullptr, false);
  return ParseCreated(object.is_object() ? object.value("Created", "") : "");
}

absl::StatusOr<EngineReply> SchedulerCore::ListOrdered(const std::string& kind, const std::string& api_version,
                                                       const std::string& query, const OrderFilters& filters) {
  // An object no VM holds: dockerd's own refusal of the whole query.
  for (const auto* refs : {&filters.since, &filters.before}) {
    for (const std::string& ref : *refs) {
      if (!CreatedOf(kind, ref).ok()) {
        return backends_.front()->Call("GET", http::BuildTarget(api_version, absl::StrCat("/", kind, "/json"), query));
      }
    }
  }
  // dockerd counts the limit after these filters.
  std::optional<std::string> limit = http::QueryValue(query, "limit");
  const std::string unlimited = limit.has_value() ? http::WithQueryValue(filters.query, "limit", "0") : filters.query;
  absl::StatusOr<EngineReply> listed =
      kind == "containers" ? ListContainers(api_version, unlimited) : ListImages(api_version, unlimited);
  if (!listed.ok() || listed->status != 200) return listed;
  auto created = [&](const std::string& ref) { return CreatedOf(kind, ref); };
  absl::StatusOr<json> kept = ApplyOrderFilters(json::parse(listed->body), filters, created, created);
  if (!kept.ok()) return kept.status();
  int n = 0;
  if (limit.has_value() && absl::SimpleAtoi(*limit, &n) && n > 0 && kept->size() > static_cast<size_t>(n)) {
    kept->erase(kept->begin() + n, kept->end());
  }
  return JsonReply(200, *kept);
}

absl::StatusOr<EngineReply> SchedulerCore::ListContainers(const std::string& api_version,
                                                          const std::string& query) {
  if (OrderFilters filters = SplitOrderFilters(query); !filters.empty()) {
    return ListOrdered("containers", api_version, query, filters);
  }
  const std::string target = http::BuildTarget(api_version, "/containers/json", query);
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
  json merged = json::array();
  absl::Status last_error;
  bool any_ok = false;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok()) {
      last_error = replies[i].status();
      continue;
    }
    if (replies[i]->status != 200) return *replies[i];  // dockerd's own error (bad filter)
    any_ok = true;
    json list = json::parse(replies[i]->body, nullptr, false);
    if (!list.is_array()) continue;
    for (auto& c : list) {
      if (c.contains("Id") && c["Id"].is_string()) Remember(c["Id"].get<std::string>(), backends_[i]->name());
      merged.push_back(std::move(c));
    }
  }
  if (!any_ok) return last_error;
  std::stable_sort(merged.begin(), merged.end(), [](const json& a, const json& b) {
    return a.value("Created", int64_t{0}) > b.value("Created", int64_t{0});
  });
  if (auto limit = http::QueryValue(query, "limit"); limit.has_value()) {
    int n = 0;
    if (absl::SimpleAtoi(*limit, &n) && n > 0 && merged.size() > static_cast<size_t>(n)) {
      merged.erase(merged.begin() + n, merged.end());
    }
  }
  return JsonReply(200, merged);
}

absl::StatusOr<EngineReply> SchedulerCore::ListImages(const std::string& api_version,
                                                      const std::string& query) {
  if (OrderFilters filters = SplitOrderFilters(query); !filters.empty()) {
    return ListOrdered("images", api_version, query, filters);
  }
  const std::string target = http::BuildTarget(api_version, "/images/json", query);
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
  json merged = json::array();
  std::map<std::string, size_t> by_id;
  absl::Status last_error;
  bool any_ok = false;
  for (size_t i = 0; i < replies.size(); ++i) {
    auto& reply = replies[i];
    if (!reply.ok()) {
      last_error = reply.status();
      continue;
    }
    if (reply->status != 200) return *reply;
    any_ok = true;
    json list = json::parse(reply->body, nullptr, false);
    if (!list.is_array()) continue;
    const std::string& backend = backends_[i]->name();
    for (auto& image : list) {
      if (!image.is_object()) continue;
      const std::string id = image.value("Id", "");
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        // Where the image lives, as a label: one engine, two stores.
        if (!image["Labels"].is_object()) image["Labels"] = json::object();
        image["Labels"][kImageBackendsLabel] = backend;
        by_id[id] = merged.size();
        merged.push_back(std::move(image));
        continue;
      }
      // The same image in both VMs is one row, with the tags of both.
      json& row = merged[it->second];
      row["Labels"][kImageBackendsLabel] = absl::StrCat(row["Labels"][kImageBackendsLabel].get<std::string>(), ",", backend);
      for (const char* field : {"RepoTags", "RepoDigests"}) {
        if (!image[field].is_array()) continue;
        if (!row[field].is_array()) row[field] = json::array();
        for (auto& tag : image[field]) {
          if (std::find(row[field].begin(), row[field].end(), tag) == row[field].end()) row[field].push_back(tag);
        }
      }
    }
  }
  if (!any_ok) return last_error;
  std::stable_sort(merged.begin(), merged.end(), [](const json& a, const json& b) {
    return a.value("Created", int64_t{0}) > b.value("Created", int64_t{0});
  });
  return JsonReply(200, merged);
}

absl::StatusOr<EngineReply> SchedulerCore::SystemInfo(const std::string& api_version) {
  const std::string target = http::BuildTarget(api_version, "/info", "");
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
  json merged;
  json warnings = json::array();
  json labels = json::array();
  for (size_t i = 0; i < replies.size(); ++i) {
    const std::string& name = backends_[i]->name();
    if (replies[i].ok() && replies[i]->status != 200 && replies[i]->status < 500) {
      return *replies[i];  // dockerd refused the request itself (API version too new)
    }
    if (!replies[i].ok() || replies[i]->status != 200) {
      if (auto vm = backends_[i]->GetVmStatus(); vm.ok() && vm->state() == vmm::v1::VM_STATE_ASLEEP) {
        // Not a fault: it sleeps until a workload needs it.
        labels.push_back(absl::StrCat("io.switchyard.backend.", name, "=asleep (", vm->last_stop(), ")"));
        continue;
      }
      std::string why = replies[i].ok() ? replies[i]->body : std::string(replies[i].status().message());
      warnings.push_back(absl::StrCat("WARNING: backend ", name, " is not running: ", why));
      labels.push_back(absl::StrCat("io.switchyard.backend.", name, "=down"));
      continue;
    }
    json info = json::parse(replies[i]->body, nullptr, false);
    if (!info.is_object()) continue;
    std::string translators;
    std::string state = "running";
    if (auto vm = backends_[i]->GetVmStatus(); vm.ok()) {
      // The translators that ran their boot probe, with what they run and how fast.
      std::vector<std::string> proven;
      for (const auto& probe : vm->translator_probes()) {
        if (probe.ran()) proven.push_back(absl::StrFormat("%s(%s,%.0fms)", probe.handler(), probe.arch(), probe.millis()));
      }
      translators = proven.empty() ? absl::StrJoin(vm->translators(), ",") : absl::StrJoin(proven, ",");
      if (vm->state() == vmm::v1::VM_STATE_ASLEEP) state = "asleep";
    }
    labels.push_back(absl::StrCat("io.switchyard.backend.", name, "=", state, " arch=", info.value("Architecture", ""),
                                  " translators=", translators.empty() ? "none" : translators,
                                  " containers=", info.value("Containers", 0)));
    if (merged.is_null()) {
      merged = info;
      continue;
    }
    for (const char* counter : {"Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images"}) {
      merged[counter] = merged.value(counter, 0) + info.value(counter, 0);
    }
  }
  if (merged.is_null()) {
    return absl::UnavailableError(absl::StrCat("no backend is running: ", warnings.dump()));
  }
  merged["Name"] = "switchyard";
  if (merged["Labels"].is_array()) {
    for (auto& l : labels) merged["Labels"].push_back(l);
  } else {
    merged["Labels"] = labels;
  }
  if (!merged["Warnings"].is_array()) merged["Warnings"] = json::array();
  for (auto& w : warnings) merged["Warnings"].push_back(w);
  return JsonReply(200, merged);
}

absl::StatusOr<EngineReply> SchedulerCore::Version(const std::string& api_version) {
  const std::string target = http::BuildTarget(api_version, "/version", "");
  absl::Status last_error = absl::UnavailableError("no backend configured");
  for (const auto& backend : backends_) {
    absl::StatusOr<EngineReply> reply = backend->Call("GET", target);
    if (reply.ok()) return reply;
    if (!reply.ok()) last_error = reply.status();
  }
  return last_error;
}

absl::StatusOr<resolve::Resolution> SchedulerCore::ResolveContainer(const std::string& ref) {
  {
    absl::MutexLock lock(&mu_);
    auto it = container_backend_.find(ref);
    if (it != container_backend_.end()) return resolve::Resolution{it->second, ref};
  }
  const std::string target = absl::StrCat("/containers/", http::UrlEncode(ref), "/json");
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
  std::vector<resolve::Candidate> found;
  std::optional<absl::Status> unreachable;
  std::vector<std::string> unreachable_backends;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok()) {
      unreachable = replies[i].status();
      unreachable_backends.push_back(backends_[i]->name());
      continue;
    }
    if (replies[i]->status == 404) continue;
    if (replies[i]->status != 200) {
      return http::StatusFromDockerError(replies[i]->status, replies[i]->body);
    }
    json c = json::parse(replies[i]->body, nullptr, false);
    if (!c.is_object()) continue;
    found.push_back({backends_[i]->name(), c.value("Id", ""), c.value("Name", "")});
  }
  absl::StatusOr<resolve::Resolution> resolved = resolve::ResolveReference(ref, found);
  if (resolved.ok()) {
    Remember(resolved->id, resolved->backend);
  } else if (resolved.status().code() == absl::StatusCode::kNotFound && unreachable.has_value()) {
    // The registry knows what the unreachable VM holds: a container it
    // holds exists and is only unreachable for now, which is not a 404.
    std::vector<resolve::Candidate> recorded;
    for (const std::string& backend : unreachable_backends) {
      absl::StatusOr<std::vector<registry::WorkloadRecord>> held = store_->ListWorkloadsOnBackend(backend);
      if (!held.ok()) continue;
      for (const auto& w : *held) recorded.push_back({w.backend, w.container_id, w.name});
    }
    if (resolve::ResolveReference(ref, recorded).ok()) return *unreachable;
    absl::Status partial =
        absl::NotFoundError(absl::StrCat(resolved.status().message(), " (", unreachable->message(), ")"));
    partial.SetPayload(kPartialAnswer, absl::Cord(unreachable->message()));
    return partial;
  }
  return resolved;
}

absl::StatusOr<registry::WorkloadRecord> SchedulerCore::Explain(const std::string& ref) {
  absl::StatusOr<resolve::Resolution> resolved = ResolveContainer(ref);
  if (!resolved.ok()) return resolved.status();
  absl::StatusOr<registry::WorkloadRecord> record = store_->GetWorkload(resolved->id);
  if (record.ok()) return record;
  (void)Reconcile();  // created behind our back: adopt it now
  record = store_->GetWorkload(resolved->id);
  if (record.ok()) return record;
  return absl::NotFoundError(absl::StrCat("container ", resolved->id, " on backend ", resolved->backend,
                                          " has no placement record"));
}

absl::StatusOr<registry::GroupRecord> SchedulerCore::PinGroup(const std::string& group_id,
                                                             const std::string& backend) {
  if (Backend(backend) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown backend \"", backend, "\": use hv or vz"));
  }
  if (group_id.empty() || group_id.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("invalid group \"", group_id,
                                                   "\": use compose:PROJECT, pod:UID or lone:ID"));
  }
  absl::Status pinned = store_->PinGroup(group_id, backend, absl::StrCat("pinned to ", backend, " by switchyardctl"));
  if (!pinned.ok()) return pinned;
  spdlog::info("group={} backend={} pinned", group_id, backend);
  return store_->GetGroup(group_id);
}

std::vector<std::pair<registry::GroupRecord, int64_t>> SchedulerCore::Groups() {
  std::vector<std::pair<registry::GroupRecord, int64_t>> out;
  absl::StatusOr<std::vector<registry::GroupRecord>> groups = store_->ListGroups();
  if (!groups.ok()) return out;
  for (auto& g : *groups) {
    auto members = store_->ListWorkloadsInGroup(g.id);
    out.emplace_back(g, members.ok() ? static_cast<int64_t>(members->size()) : 0);
  }
  return out;
}

absl::Status SchedulerCore::Reconcile() {
  // Read the registry before asking the guests: a container created in
  // between is then seen by the guests and kept, never planned for removal.
  absl::StatusOr<std::vector<registry::WorkloadRecord>> recorded = store_->ListWorkloads();
  if (!recorded.ok()) return recorded.status();
  absl::StatusOr<std::vector<registry::GroupRecord>> groups = store_->ListGroups();
  if (!groups.ok()) return groups.status();
  auto replies = OnEachBackend(backends_, [](BackendClient& b) { return b.Call("GET", "/containers/json?all=1"); });
  std::vector<registry::ObservedContainer> observed;
  std::vector<std::string> answered;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok() || replies[i]->status != 200) continue;
    json list = json::parse(replies[i]->body, nullptr, false);
    if (!list.is_array()) continue;
    answered.push_back(backends_[i]->name());
    for (const auto& c : list) {
      if (!c.is_object() || !c["Id"].is_string()) continue;
      registry::ObservedContainer o;
      o.container_id = c["Id"].get<std::string>();
      o.backend = backends_[i]->name();
      if (c["Names"].is_array() && !c["Names"].empty() && c["Names"][0].is_string()) {
        o.name = StripSlash(c["Names"][0].get<std::string>());
      }
      if (c["Labels"].is_object()) {
        for (const auto& [k, v] : c["Labels"].items()) {
          if (v.is_string()) o.labels[k] = v.get<std::string>();
        }
      }
      o.created_unix = c.value("Created", int64_t{0});
      observed.push_back(std::move(o));
    }
  }
  // Image placements follow what each answering guest holds.
  for (const std::string& name : answered) {
    absl::StatusOr<EngineReply> images = Backend(name)->Call("GET", "/images/json");
    if (!images.ok() || images->status != 200) continue;
    absl::Status synced = image_records_.Sync(name, json::parse(images->body, nullptr, false));
    if (!synced.ok()) spdlog::warn("reconcile: images of backend={}: {}", name, synced.ToString());
  }
  registry::ReconcilePlan plan = registry::PlanReconcile(*recorded, observed, answered, *groups);
  if (plan.to_add.empty() && plan.to_remove.empty() && plan.to_update.empty()) return absl::OkStatus();
  spdlog::info("reconcile: {} adopted, {} gone, {} updated", plan.to_add.size(), plan.to_remove.size(),
               plan.to_update.size());
  return registry::ApplyReconcile(*store_, plan);
}

}  // namespace switchyard::scheduler
