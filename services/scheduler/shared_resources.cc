#include "services/scheduler/shared_resources.h"

#include <set>

#include <spdlog/spdlog.h>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/http/api_target.h"
#include "services/scheduler/fan_out.h"
#include "services/scheduler/merged_answers.h"

namespace switchyard::scheduler {
namespace {

using json = nlohmann::json;

constexpr char kComposeProjectLabel[] = "com.docker.compose.project";

bool IsUserNetwork(const std::string& mode) {
  return !(mode.empty() || mode == "default" || mode == "bridge" || mode == "host" || mode == "none" ||
           absl::StartsWith(mode, "container:"));
}

std::string Str(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string Path(const std::string& kind, const std::string& name, const std::string& rest = "") {
  return absl::StrCat("/", kind, "/", http::UrlEncode(name), rest);
}

}  // namespace

SharedResources::SharedResources(std::vector<BackendClient*> backends, registry::Store* store,
                                 ContainerResolver resolve)
    : backends_(std::move(backends)), store_(store), resolve_(std::move(resolve)) {}

BackendClient* SharedResources::Backend(const std::string& name) const {
  for (BackendClient* b : backends_) {
    if (b->name() == name) return b;
  }
  return nullptr;
}

std::vector<std::string> SharedResources::NetworksOf(const json& spec) {
  std::set<std::string> names;
  const std::string mode = Str(Member(spec, "HostConfig"), "NetworkMode");
  if (IsUserNetwork(mode)) names.insert(mode);
  const json& endpoints = Member(Member(spec, "NetworkingConfig"), "EndpointsConfig");
  if (endpoints.is_object()) {
    for (const auto& [name, unused] : endpoints.items()) {
      if (IsUserNetwork(name)) names.insert(name);
    }
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> SharedResources::VolumesOf(const json& spec) {
  std::set<std::string> names;
  const json& host_config = Member(spec, "HostConfig");
  const json& binds = Member(host_config, "Binds");
  if (binds.is_array()) {
    for (const json& b : binds) {
      if (!b.is_string()) continue;
      const std::string text = b.get<std::string>();
      const std::string source = text.substr(0, text.find(':'));
      // A source that is no path names a volume ("data:/var/lib/x").
      if (text.find(':') != std::string::npos && !source.empty() && source[0] != '/') names.insert(source);
    }
  }
  const json& mounts = Member(host_config, "Mounts");
  if (mounts.is_array()) {
    for (const json& m : mounts) {
      if (Str(m, "Type") == "volume" && !Str(m, "Source").empty()) names.insert(Str(m, "Source"));
    }
  }
  return {names.begin(), names.end()};
}

std::vector<std::pair<BackendClient*, json>> SharedResources::Holders(const std::string& kind,
                                                                      const std::string& name) {
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", Path(kind, name)); });
  std::vector<std::pair<BackendClient*, json>> found;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].ok() && replies[i]->status == 200) {
      found.emplace_back(backends_[i], json::parse(replies[i]->body, nullptr, false));
    }
  }
  return found;
}

std::vector<BackendClient*> SharedResources::CreateTargets(const json& spec) {
  // The swarm lives in the native VM (api_routes/swarm.cc): so do its
  // overlay networks, which no other engine can make.
  if (Str(spec, "Driver") == "overlay" || Str(spec, "Scope") == "swarm") return {backends_.front()};
  const std::string project = Str(Member(spec, "Labels"), kComposeProjectLabel);
  if (!project.empty()) {
    absl::StatusOr<registry::GroupRecord> group = store_->GetGroup(absl::StrCat("compose:", project));
    if (group.ok() && Backend(group->backend) != nullptr) return {Backend(group->backend)};
  }
  return backends_;
}

absl::StatusOr<EngineReply> SharedResources::CreateEverywhere(const std::string& kind, const std::string& target,
                                                              const std::string& body) {
  json spec = json::parse(body, nullptr, false);
  std::string forwarded = body;
  if (kind == "volumes" && spec.is_object() && Str(spec, "Name").empty()) {
    // Every copy must answer to one name; dockerd would pick one per VM.
    absl::BitGen gen;
    spec["Name"] = absl::StrFormat("%016x%016x%016x%016x", absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen),
                                   absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen));
    forwarded = spec.dump();
  }
  const std::vector<BackendClient*> targets = spec.is_object() ? CreateTargets(spec) : backends_;
  std::vector<std::pair<BackendClient*, EngineReply>> made;
  auto undo = [&] {
    for (auto& [b, reply] : made) {
      json created = json::parse(reply.body, nullptr, false);
      const std::string ref = kind == "networks" ? Str(created, "Id") : Str(created, "Name");
      if (!ref.empty()) (void)b->Call("DELETE", Path(kind, ref));
    }
  };
  for (BackendClient* b : targets) {
    absl::StatusOr<EngineReply> reply = b->Call("POST", target, forwarded);
    if (!reply.ok() || reply->status != 201) {
      undo();  // all copies or none
      return reply;
    }
    made.emplace_back(b, *reply);
  }
  const std::string name = Str(spec, "Name");
  for (auto& [b, reply] : made) {
    absl::Status recorded = kind == "networks"
                                ? store_->PutNetwork({Str(json::parse(reply.body, nullptr, false), "Id"), name,
                                                      b->name(), "", ""})
                                : store_->PutVolume({name, b->name(), ""});
    if (!recorded.ok()) spdlog::warn("{}={} backend={} not recorded: {}", kind, name, b->name(), recorded.ToString());
  }
  spdlog::info("{}={} created on {} backend(s), settles with its first container", kind, name, made.size());
  return made.front().second;
}

std::string SharedResources::NetworkName(const std::string& ref) {
  absl::StatusOr<std::vector<registry::NetworkRecord>> networks = store_->ListNetworks();
  if (!networks.ok() || ref.size() < 12) return ref;
  for (const registry::NetworkRecord& n : *networks) {
    if (absl::StartsWith(n.network_id, ref)) return n.name;
  }
  return ref;
}

absl::StatusOr<EngineReply> SharedResources::Prune(const std::string& target, const std::string& deleted_key) {
  return MergePrune(OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("POST", target); }), deleted_key);
}

absl::StatusOr<EngineReply> SharedResources::Networks(const std::string& method, const std::string& target,
                                                      const std::string& body) {
  const http::ApiTarget t = http::ParseTarget(target);
  const auto& seg = t.segments;
  if (seg.size() == 1 && method == "GET") {  // one row per name
    auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
    json merged = json::array();
    std::set<std::string> names;
    for (auto& reply : replies) {
      if (!reply.ok()) continue;  // the other VM still answers
      if (reply->status != 200) return *reply;
      json list = json::parse(reply->body, nullptr, false);
      if (!list.is_array()) continue;
      for (auto& n : list) {
        if (n.is_object() && names.insert(Str(n, "Name")).second) merged.push_back(std::move(n));
      }
    }
    return JsonReply(200, merged);
  }
  if (seg.size() == 2 && seg[1] == "create" && method == "POST") return CreateEverywhere("networks", target, body);
  if (seg.size() == 2 && seg[1] == "prune" && method == "POST") return Prune(target, "NetworksDeleted");

  // A name with a slash is no network's (GET /networks/a/connect): dockerd says so.
  if (method != "POST" && seg.size() > 2) return backends_.front()->Call(method, target, body);
  const std::string name = NetworkName(seg.at(1));
  std::vector<std::string> rest(seg.begin() + 2, seg.end());
  const std::string path = Path("networks", name, rest.empty() ? "" : absl::StrCat("/", rest.front()));
  const std::string rewritten = http::BuildTarget(t.api_version, path, t.query);
  if (method == "POST" && seg.size() == 3 && (seg[2] == "connect" || seg[2] == "disconnect")) {
    json spec = json::parse(body, nullptr, false);
    const std::string container = Str(spec, "Container");
    if (container.empty()) return backends_.front()->Call(method, rewritten, body);  // dockerd's own error
    absl::StatusOr<resolve::Resolution> resolved = resolve_(container);
    if (!resolved.ok()) return resolved.status();
    spec["Container"] = resolved->id;
    BackendClient* backend = Backend(resolved->backend);
    if (backend == nullptr) return absl::UnavailableError(absl::StrCat("backend ", resolved->backend, " is gone"));
    absl::StatusOr<EngineReply> reply = backend->Call(method, rewritten, spec.dump());
    if (reply.ok() && reply->status == 200 && seg[2] == "connect") {
      absl::StatusOr<registry::WorkloadRecord> w = store_->GetWorkload(resolved->id);
      json uses = {{"HostConfig", {{"NetworkMode", name}}}};
      Settle(uses, *backend, w.ok() ? w->group_id : "");
    }
    return reply;
  }
  std::vector<std::pair<BackendClient*, json>> holders = Holders("networks", name);
  if (holders.empty()) return backends_.front()->Call(method, rewritten, body);  // dockerd's 404
  if (method != "DELETE") {
    // The copy that has members is the one that settled.
    for (auto& [b, info] : holders) {
      if (Member(info, "Containers").is_object() && !Member(info, "Containers").empty()) {
        return b->Call(method, rewritten, body);
      }
    }
    return holders.front().first->Call(method, rewritten, body);
  }
  std::optional<EngineReply> answer;
  for (auto& [b, info] : holders) {
    absl::StatusOr<EngineReply> reply = b->Call("DELETE", rewritten);
    if (!reply.ok()) return reply.status();
    if (!answer.has_value() || reply->status != 204) answer = *reply;
    if (reply->status == 204) (void)store_->DeleteNetwork(Str(info, "Id"));
  }
  if (answer->status == 204) {
    // Ids of removed copies that still named it go too: the name may be reused.
    absl::StatusOr<std::vector<registry::NetworkRecord>> records = store_->ListNetworks();
    for (const registry::NetworkRecord& n : records.ok() ? *records : std::vector<registry::NetworkRecord>{}) {
      if (n.name == name) (void)store_->DeleteNetwork(n.network_id);
    }
  }
  return *answer;
}

absl::StatusOr<EngineReply> SharedResources::Volumes(const std::string& method, const std::string& target,
                                                     const std::string& body) {
  const http::ApiTarget t = http::ParseTarget(target);
  const auto& seg = t.segments;
  if (seg.size() == 1 && method == "GET") {
    auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
    json volumes = json::array();
    json warnings = json::array();
    std::set<std::string> names;
    for (auto& reply : replies) {
      if (!reply.ok()) {
        warnings.push_back(std::string(reply.status().message()));
        continue;
      }
      if (reply->status != 200) return *reply;
      json list = json::parse(reply->body, nullptr, false);
      const json& rows = Member(list, "Volumes");
      if (!rows.is_array()) continue;
      for (const json& v : rows) {
        if (v.is_object() && names.insert(Str(v, "Name")).second) volumes.push_back(v);
      }
    }
    return JsonReply(200, {{"Volumes", volumes}, {"Warnings", warnings.empty() ? json() : warnings}});
  }
  if (seg.size() == 2 && seg[1] == "create" && method == "POST") return CreateEverywhere("volumes", target, body);
  if (seg.size() == 2 && seg[1] == "prune" && method == "POST") return Prune(target, "VolumesDeleted");
  if (seg.size() != 2) return backends_.front()->Call(method, target, body);

  std::vector<std::pair<BackendClient*, json>> holders = Holders("volumes", seg[1]);
  if (holders.empty()) return backends_.front()->Call(method, target, body);  // dockerd's 404
  if (method != "DELETE") {
    // Settled: a group's container uses it. Until then every VM holds a
    // copy, and the first answers, as it answered the create.
    absl::StatusOr<registry::VolumeRecord> settled = store_->GetVolume(seg[1]);
    for (auto& [b, info] : holders) {
      if (settled.ok() && !settled->group_id.empty() && settled->backend == b->name()) {
        return b->Call(method, target, body);
      }
    }
    return holders.front().first->Call(method, target, body);
  }
  std::optional<EngineReply> answer;
  bool all_gone = true;
  for (auto& [b, info] : holders) {
    absl::StatusOr<EngineReply> reply = b->Call("DELETE", target);
    if (!reply.ok()) return reply.status();
    all_gone = all_gone && reply->status == 204;
    if (!answer.has_value() || reply->status != 204) answer = *reply;
  }
  if (all_gone) (void)store_->DeleteVolume(seg[1]);
  return *answer;
}

absl::StatusOr<std::optional<ResourcePin>> SharedResources::PinFor(const json& spec) {
  std::optional<ResourcePin> pin;
  auto consider = [&](const std::string& kind, const std::string& name) -> absl::Status {
    std::vector<std::pair<BackendClient*, json>> holders = Holders(kind, name);
    if (holders.size() != 1) return absl::OkStatus();  // in every VM (not settled yet), or nowhere
    ResourcePin here{holders.front().first->name(),
                     absl::StrCat(kind == "networks" ? "network " : "volume ", name)};
    if (pin.has_value() && pin->backend != here.backend) {
      return absl::InvalidArgumentError(absl::StrCat(pin->what, " lives on backend ", pin->backend, " and ",
                                                     here.what, " on backend ", here.backend,
                                                     ": one container cannot use both"));
    }
    if (!pin.has_value()) pin = here;
    return absl::OkStatus();
  };
  for (const std::string& n : NetworksOf(spec)) {
    if (absl::Status s = consider("networks", n); !s.ok()) return s;
  }
  for (const std::string& v : VolumesOf(spec)) {
    if (absl::Status s = consider("volumes", v); !s.ok()) return s;
  }
  return pin;
}

void SharedResources::Settle(const json& spec, BackendClient& backend, const std::string& group_id) {
  auto settle = [&](const std::string& kind, const std::string& name) {
    std::vector<std::pair<BackendClient*, json>> holders = Holders(kind, name);
    const bool here = std::any_of(holders.begin(), holders.end(), [&](const auto& h) { return h.first == &backend; });
    if (!here) return;
    std::string kept_id;
    for (auto& [b, info] : holders) {
      if (b == &backend) {
        kept_id = Str(info, "Id");
        continue;
      }
      bool unused = false;
      if (kind == "networks") {
        unused = Member(info, "Containers").empty();
      } else {
        const std::string users = http::BuildTarget(
            "", "/containers/json",
            absl::StrCat("all=1&filters=", http::UrlEncode(json{{"volume", {name}}}.dump())));
        absl::StatusOr<EngineReply> listed = b->Call("GET", users);
        unused = listed.ok() && listed->status == 200 && json::parse(listed->body, nullptr, false) == json::array();
      }
      if (!unused) continue;
      absl::StatusOr<EngineReply> removed = b->Call("DELETE", Path(kind, kind == "networks" ? Str(info, "Id") : name));
      const bool gone = removed.ok() && removed->status == 204;
      spdlog::info("{}={} group={} settles on backend={}; unused copy on backend={} {}", kind, name, group_id,
                   backend.name(), b->name(), gone ? "removed" : "kept (remove failed)");
      if (gone && kind == "networks") {
        // The client may hold this copy's id from create: it now names the settled network.
        (void)store_->PutNetwork({Str(info, "Id"), name, backend.name(), group_id, ""});
      }
    }
    absl::Status recorded = kind == "networks" ? store_->PutNetwork({kept_id, name, backend.name(), group_id, ""})
                                               : store_->PutVolume({name, backend.name(), group_id});
    if (!recorded.ok()) {
      spdlog::warn("{}={} group={} backend={} not recorded: {}", kind, name, group_id, backend.name(),
                   recorded.ToString());
    }
  };
  for (const std::string& n : NetworksOf(spec)) settle("networks", n);
  for (const std::string& v : VolumesOf(spec)) settle("volumes", v);
}

}  // namespace switchyard::scheduler
