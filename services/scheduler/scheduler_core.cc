#include "services/scheduler/scheduler_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <optional>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/http/api_target.h"
#include "libs/http/docker_error.h"

namespace switchyard::scheduler {
namespace {

using nlohmann::json;

// Runs `call` against every backend at once; results in backend order.
template <typename Fn>
auto OnEachBackend(const std::vector<std::unique_ptr<BackendClient>>& backends, Fn call) {
  using Result = decltype(call(*backends.front()));
  // The last backend is asked on this thread: one thread spawn fewer per call.
  std::vector<std::future<Result>> futures;
  for (size_t i = 0; i + 1 < backends.size(); ++i) {
    futures.push_back(std::async(std::launch::async, [&call, b = backends[i].get()] { return call(*b); }));
  }
  std::optional<Result> last;
  if (!backends.empty()) last.emplace(call(*backends.back()));
  std::vector<Result> results;
  for (auto& f : futures) results.push_back(f.get());
  if (last.has_value()) results.push_back(*std::move(last));
  return results;
}

EngineReply JsonReply(int status, const json& body) {
  EngineReply reply;
  reply.status = status;
  reply.headers.emplace_back("Content-Type", "application/json");
  reply.body = body.dump() + "\n";
  return reply;
}

std::string StripSlash(const std::string& name) {
  return absl::StartsWith(name, "/") ? name.substr(1) : name;
}

std::string PathOf(const std::vector<std::string>& segments, size_t from, size_t to) {
  std::vector<std::string> parts;
  for (size_t i = from; i < to; ++i) parts.push_back(segments[i]);
  return absl::StrJoin(parts, "/");
}

std::string EncodedPath(const std::vector<std::string>& segments) {
  std::string path;
  for (const auto& s : segments) absl::StrAppend(&path, "/", http::UrlEncode(s));
  return path;
}

}  // namespace

SchedulerCore::SchedulerCore(std::vector<std::unique_ptr<BackendClient>> backends,
                             std::unique_ptr<placement::PlacementPolicy> policy)
    : backends_(std::move(backends)), policy_(std::move(policy)) {}

BackendClient* SchedulerCore::Backend(const std::string& name) const {
  for (const auto& b : backends_) {
    if (b->name() == name) return b.get();
  }
  return nullptr;
}

void SchedulerCore::Remember(const std::string& id, const std::string& backend, const std::string& rule) {
  absl::MutexLock lock(&mu_);
  container_backend_[id] = backend;
  if (!rule.empty()) container_rule_[id] = rule;
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
  // A body dockerd would reject goes to it untouched, so the client gets
  // dockerd's own error text.
  const bool well_formed = spec.is_object() && (!spec.contains("Image") || spec["Image"].is_string()) &&
                           (!spec.contains("Labels") || spec["Labels"].is_object() || spec["Labels"].is_null());
  placement::PlacementRequest request{platform, well_formed && spec.contains("Image") ? spec["Image"].get<std::string>() : ""};
  absl::StatusOr<placement::Placement> placed = policy_->Place(request);
  if (!placed.ok()) return placed.status();
  BackendClient* backend = Backend(placed->backend);
  if (backend == nullptr) {
    return absl::UnavailableError(absl::StrCat("backend ", placed->backend, " is not configured"));
  }
  std::string forwarded = body;
  if (well_formed) {
    // Labels let a restarted scheduler rebuild its view from the guests.
    json& labels = spec["Labels"];
    if (!labels.is_object()) labels = json::object();
    labels["io.switchyard.backend"] = backend->name();
    labels["io.switchyard.group"] = name.empty() ? "" : name;
    labels["io.switchyard.platform"] = platform;
    forwarded = spec.dump();
  }
  std::string query;
  if (!name.empty()) query = absl::StrCat("name=", http::UrlEncode(name));
  if (!platform.empty()) absl::StrAppend(&query, query.empty() ? "" : "&", "platform=", http::UrlEncode(platform));
  const std::string target = http::BuildTarget(api_version, "/containers/create", query);

  std::optional<absl::MutexLock> name_lock;
  if (!name.empty()) {
    name_lock.emplace(&names_mu_);
    absl::Status free = CheckNameFree(StripSlash(name), backend->name());
    if (!free.ok()) return free;
  }
  absl::StatusOr<EngineReply> reply = backend->Call("POST", target, forwarded);
  if (!reply.ok()) return reply.status();
  if (reply->status == 201) {
    json created = json::parse(reply->body, nullptr, false);
    if (created.is_object() && created.contains("Id")) {
      const std::string id = created["Id"].get<std::string>();
      Remember(id, backend->name(), placed->rule);
      spdlog::info("container={} backend={} created ({})", id.substr(0, 12), backend->name(), placed->rule);
    }
  }
  return reply;
}

absl::StatusOr<EngineReply> SchedulerCore::ListContainers(const std::string& api_version,
                                                          const std::string& query) {
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
      if (c.contains("Id")) Remember(c["Id"].get<std::string>(), backends_[i]->name(), "");
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
  const std::string target = http::BuildTarget(api_version, "/images/json", query);
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
  json merged = json::array();
  std::map<std::string, size_t> by_id;
  absl::Status last_error;
  bool any_ok = false;
  for (auto& reply : replies) {
    if (!reply.ok()) {
      last_error = reply.status();
      continue;
    }
    if (reply->status != 200) return *reply;
    any_ok = true;
    json list = json::parse(reply->body, nullptr, false);
    if (!list.is_array()) continue;
    for (auto& image : list) {
      const std::string id = image.value("Id", "");
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        by_id[id] = merged.size();
        merged.push_back(std::move(image));
        continue;
      }
      // The same image in both VMs is one row, with the tags of both.
      json& row = merged[it->second];
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
      std::string why = replies[i].ok() ? replies[i]->body : std::string(replies[i].status().message());
      warnings.push_back(absl::StrCat("WARNING: backend ", name, " is not running: ", why));
      labels.push_back(absl::StrCat("io.switchyard.backend.", name, "=down"));
      continue;
    }
    json info = json::parse(replies[i]->body, nullptr, false);
    if (!info.is_object()) continue;
    labels.push_back(absl::StrCat("io.switchyard.backend.", name, "=running arch=",
                                  info.value("Architecture", ""), " containers=",
                                  info.value("Containers", 0)));
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
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok()) {
      unreachable = replies[i].status();
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
    Remember(resolved->id, resolved->backend, "");
  } else if (resolved.status().code() == absl::StatusCode::kNotFound && unreachable.has_value()) {
    return absl::NotFoundError(absl::StrCat(resolved.status().message(), " (", unreachable->message(), ")"));
  }
  return resolved;
}

absl::StatusOr<resolve::Resolution> SchedulerCore::ResolveExec(const std::string& exec_id) {
  {
    absl::MutexLock lock(&mu_);
    auto it = exec_backend_.find(exec_id);
    if (it != exec_backend_.end()) return resolve::Resolution{it->second, exec_id};
  }
  const std::string target = absl::StrCat("/exec/", http::UrlEncode(exec_id), "/json");
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].ok() && replies[i]->status == 200) {
      absl::MutexLock lock(&mu_);
      exec_backend_[exec_id] = backends_[i]->name();
      return resolve::Resolution{backends_[i]->name(), exec_id};
    }
  }
  return absl::NotFoundError(absl::StrCat("No such exec instance: ", exec_id));
}

std::vector<BackendClient*> SchedulerCore::BackendsWithImage(const std::string& api_version,
                                                             const std::string& name) {
  const std::string target = http::BuildTarget(api_version, absl::StrCat("/images/", name, "/json"), "");
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
  std::vector<BackendClient*> found;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].ok() && replies[i]->status == 200) found.push_back(backends_[i].get());
  }
  return found;
}

absl::StatusOr<ForwardRoute> SchedulerCore::RouteForward(const std::string& method,
                                                         const std::string& target) {
  http::ApiTarget t = http::ParseTarget(target);
  const auto& seg = t.segments;
  ForwardRoute route{Backend("hv"), target, false};
  if (route.backend == nullptr) route.backend = backends_.front().get();
  if (seg.empty()) return route;

  if (seg[0] == "containers" && seg.size() >= 2 && seg[1] != "json" && seg[1] != "create" &&
      seg[1] != "prune") {
    absl::StatusOr<resolve::Resolution> resolved = ResolveContainer(seg[1]);
    if (!resolved.ok()) return resolved.status();
    std::vector<std::string> rewritten = seg;
    rewritten[1] = resolved->id;
    route.backend = Backend(resolved->backend);
    route.target = http::BuildTarget(t.api_version, EncodedPath(rewritten), t.query);
    route.handle_whole = seg.size() == 3 && method == "POST" && (seg[2] == "exec" || seg[2] == "rename");
    return route;
  }
  if (seg[0] == "exec" && seg.size() >= 2) {
    absl::StatusOr<resolve::Resolution> resolved = ResolveExec(seg[1]);
    if (!resolved.ok()) return resolved.status();
    route.backend = Backend(resolved->backend);
    return route;
  }
  if (seg[0] == "images" && seg.size() >= 2) {
    if (seg[1] == "create") {
      std::string platform = http::QueryValue(t.query, "platform").value_or("");
      absl::StatusOr<placement::Placement> placed = policy_->Place({platform, ""});
      if (!placed.ok()) return placed.status();
      route.backend = Backend(placed->backend);
      return route;
    }
    if (seg[1] == "load" || seg[1] == "json" || seg[1] == "search" || seg[1] == "prune") return route;
    std::string name;
    if (seg[1] == "get") {
      name = http::QueryValue(t.query, "names").value_or("");
    } else if (method == "DELETE") {
      name = PathOf(seg, 1, seg.size());
      route.handle_whole = true;
    } else {
      name = PathOf(seg, 1, seg.size() - 1);
    }
    if (route.handle_whole) return route;
    std::vector<BackendClient*> holders = BackendsWithImage(t.api_version, http::UrlEncode(name));
    if (!holders.empty()) route.backend = holders.front();
    return route;
  }
  return route;
}

absl::StatusOr<EngineReply> SchedulerCore::ForwardWhole(const ForwardRoute& route,
                                                        const std::string& method,
                                                        const std::string& body) {
  http::ApiTarget t = http::ParseTarget(route.target);
  if (t.segments[0] == "images") return RemoveImage(route);
  if (t.segments.size() == 3 && t.segments[2] == "exec") return ExecCreate(route, body);
  return Rename(route);
}

absl::StatusOr<EngineReply> SchedulerCore::ExecCreate(const ForwardRoute& route, const std::string& body) {
  absl::StatusOr<EngineReply> reply = route.backend->Call("POST", route.target, body);
  if (reply.ok() && reply->status == 201) {
    json created = json::parse(reply->body, nullptr, false);
    if (created.is_object() && created.contains("Id")) {
      absl::MutexLock lock(&mu_);
      exec_backend_[created["Id"].get<std::string>()] = route.backend->name();
    }
  }
  return reply;
}

absl::StatusOr<EngineReply> SchedulerCore::Rename(const ForwardRoute& route) {
  http::ApiTarget t = http::ParseTarget(route.target);
  std::string name = StripSlash(http::QueryValue(t.query, "name").value_or(""));
  absl::MutexLock lock(&names_mu_);
  if (!name.empty()) {
    absl::Status free = CheckNameFree(name, route.backend->name());
    if (!free.ok()) return free;
  }
  return route.backend->Call("POST", route.target);
}

absl::StatusOr<EngineReply> SchedulerCore::RemoveImage(const ForwardRoute& route) {
  http::ApiTarget t = http::ParseTarget(route.target);
  std::string name = PathOf(t.segments, 1, t.segments.size());
  std::vector<BackendClient*> holders = BackendsWithImage(t.api_version, http::UrlEncode(name));
  if (holders.empty()) return route.backend->Call("DELETE", route.target);
  json merged = json::array();
  std::optional<EngineReply> first_error;
  for (BackendClient* backend : holders) {
    absl::StatusOr<EngineReply> reply = backend->Call("DELETE", route.target);
    if (!reply.ok()) return reply.status();
    if (reply->status != 200) {
      if (!first_error) first_error = *reply;
      continue;
    }
    json items = json::parse(reply->body, nullptr, false);
    if (!items.is_array()) continue;
    for (auto& item : items) {
      if (std::find(merged.begin(), merged.end(), item) == merged.end()) merged.push_back(item);
    }
  }
  if (first_error.has_value()) return *first_error;
  return JsonReply(200, merged);
}

absl::StatusOr<std::string> SchedulerCore::RuleFor(const std::string& container_id) {
  absl::MutexLock lock(&mu_);
  auto it = container_rule_.find(container_id);
  if (it == container_rule_.end()) return absl::NotFoundError("no placement recorded");
  return it->second;
}

}  // namespace switchyard::scheduler
