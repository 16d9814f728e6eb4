// SchedulerCore's side of the route table: where each forwarded call goes,
// and the calls it answers whole. The table itself (libs/api_routes) says
// how each endpoint is routed; this file carries that out.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api_routes/route_table.h"
#include "libs/http/api_target.h"
#include "libs/placement/platform.h"
#include "services/scheduler/fan_out.h"
#include "services/scheduler/merged_answers.h"
#include "services/scheduler/names.h"
#include "services/scheduler/scheduler_core.h"

namespace switchyard::scheduler {
namespace {

using api_routes::Routing;
using nlohmann::json;

}  // namespace

absl::StatusOr<resolve::Resolution> SchedulerCore::ResolveExec(const std::string& exec_id) {
  absl::StatusOr<registry::ExecRecord> recorded = store_->GetExec(exec_id);
  if (recorded.ok()) return resolve::Resolution{recorded->backend, exec_id};
  const std::string target = absl::StrCat("/exec/", http::UrlEncode(exec_id), "/json");
  auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call("GET", target); });
  std::optional<absl::Status> unreachable;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].ok() && replies[i]->status == 200) return resolve::Resolution{backends_[i]->name(), exec_id};
    if (!replies[i].ok()) unreachable = replies[i].status();
  }
  absl::Status missing = absl::NotFoundError(absl::StrCat("No such exec instance: ", exec_id));
  if (unreachable.has_value()) missing.SetPayload(kPartialAnswer, absl::Cord(unreachable->message()));
  return missing;
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
  absl::StatusOr<api_routes::RouteMatch> match = api_routes::ApiRoutes().Match(method, t.segments);
  if (!match.ok()) return match.status();
  const api_routes::RouteEntry& entry = *match->entry;
  const std::string& object = match->Object();
  // The native VM answers what is the same in either engine or held there by decision.
  ForwardRoute route{&entry, backends_.front().get(), target, object};

  switch (entry.routing) {
    case Routing::kTyped:
      return absl::InternalError(absl::StrCat(entry.handler, " is answered by its own scheduler call"));
    case Routing::kEitherEngine:
    case Routing::kNativeOnly:
    case Routing::kBuildSession:  // the scheduler waits for the build that names it
      return route;
    case Routing::kBuildkitApi:
      route.serve_buildkit = true;
      return route;
    case Routing::kSharedResource:
    case Routing::kFanOutMerge:
    case Routing::kImageEverywhere:
      route.handle_whole = true;
      return route;
    case Routing::kSpooledLoad:
      route.spool_for_arch = true;
      return route;
    case Routing::kContainerInPath:
      return RouteToContainer(route, t, object);
    case Routing::kContainerInQuery: {
      // A commit without a container is dockerd's own error to give.
      std::string container = http::QueryValue(t.query, "container").value_or("");
      if (container.empty()) return route;
      absl::StatusOr<resolve::Resolution> resolved = ResolveContainer(container);
      if (NoVmHolds(resolved.status())) return route;  // dockerd's own answer
      if (!resolved.ok()) return resolved.status();
      route.backend = Backend(resolved->backend);
      route.container_id = resolved->id;
      return route;
    }
    case Routing::kExecInPath: {
      absl::StatusOr<resolve::Resolution> resolved = ResolveExec(object);
      if (NoVmHolds(resolved.status())) return route;  // dockerd's own answer
      if (!resolved.ok()) return resolved.status();
      route.backend = Backend(resolved->backend);
      return route;
    }
    case Routing::kImageInPath:
    case Routing::kImagesInQuery: {
      std::string name = entry.routing == Routing::kImageInPath
                             ? object
                             : http::QueryValue(t.query, "names").value_or("");
      std::vector<BackendClient*> holders = BackendsWithImage(t.api_version, http::UrlEncode(name));
      if (!holders.empty()) route.backend = holders.front();
      return route;  // held nowhere: dockerd's own "No such image"
    }
    case Routing::kPlacedPull:
      return RoutePull(route, t);
    case Routing::kPlacedBuild: {
      std::string platform = http::QueryValue(t.query, "platform").value_or("");
      const bool buildkit = http::QueryValue(t.query, "version") == "2";
      // A classic build without a platform goes where its FROM images run.
      // BuildKit's Dockerfile comes through its session, out of our sight:
      // without a platform it runs in the native VM.
      if (platform.empty() && !buildkit) {
        route.spool_for_build = true;
        return route;
      }
      absl::StatusOr<BuildDecision> placed = PlaceBuildKit(buildkit ? "buildkit" : "classic", platform);
      if (!placed.ok()) return placed.status();
      placed->tag = http::QueryValue(t.query, "t").value_or("");
      route.backend = Backend(placed->backend);
      // Its session goes to the same engine (BuildSessions).
      if (std::optional<std::string> session = http::QueryValue(t.query, "session"); buildkit && session) {
        placed->ref = *session;
        const std::string wanted = route.backend->name();
        route.backend = Backend(build_sessions_.Claim(*session, wanted));
        if (route.backend->name() != wanted) {
          spdlog::warn("build session={} runs on backend={}, where its session went, not {}", *session,
                       route.backend->name(), wanted);
          placed->backend = route.backend->name();
          placed->rule = absl::StrCat("its session had gone to ", placed->backend, " before the build came");
        }
      }
      spdlog::info("build kind={} platform={} backend={} ({})", placed->kind, platform, placed->backend, placed->rule);
      recent_builds_.Add(*placed);
      route.build = *placed;
      return route;
    }
  }
  return absl::InternalError(absl::StrCat("route ", entry.handler, " has no routing"));
}

absl::StatusOr<ForwardRoute> SchedulerCore::RouteToContainer(ForwardRoute route, const http::ApiTarget& t,
                                                             const std::string& object) {
  const absl::string_view handler = route.entry->handler;
  // `docker rm --link`: DELETE /containers/<parent>/<alias>. dockerd finds
  // a link by its name, so the path stays as sent; the parent picks the VM.
  if (handler == "ContainerDelete" && object.find('/') != std::string::npos) {
    absl::StatusOr<resolve::Resolution> parent = ResolveContainer(object.substr(0, object.find('/')));
    if (parent.ok()) route.backend = Backend(parent->backend);
    return route;  // no such parent: dockerd's own "No such container: web/db"
  }
  absl::StatusOr<resolve::Resolution> resolved = ResolveContainer(object);
  // No VM holds it: the native dockerd answers the call as sent, with its
  // own precedence (a malformed body is a 400 before the unknown id's 404).
  if (NoVmHolds(resolved.status())) return route;
  if (!resolved.ok()) return resolved.status();
  // The path keeps the client's name for it: the VM that holds the
  // container resolves it alike, and dockerd's messages echo it.
  route.backend = Backend(resolved->backend);
  route.container_id = resolved->id;
  route.handle_whole = handler == "ContainerExecCreate" || handler == "ContainerRename" ||
                       handler == "ContainerStart" || handler == "ContainerRestart" || handler == "ContainerDelete";
  return route;
}

absl::StatusOr<ForwardRoute> SchedulerCore::RoutePull(ForwardRoute route, const http::ApiTarget& t) {
  std::string platform = http::QueryValue(t.query, "platform").value_or("");
  std::string image = http::QueryValue(t.query, "fromImage").value_or("");
  std::string tag = http::QueryValue(t.query, "tag").value_or("");
  if (image.empty()) return route;  // an import (fromSrc): native
  // A platform dockerd would not parse: its own answer.
  if (!platform.empty() && !placement::ParsePlatform(platform).ok()) return route;
  if (!tag.empty()) absl::StrAppend(&image, absl::StartsWith(tag, "sha256:") ? "@" : ":", tag);
  absl::StatusOr<placement::Decision> placed = placer_.PlacePull(platform, image);
  if (std::optional<std::string> wanted = platform.empty() ? image_wants_.Find(image) : std::nullopt) {
    placed = placement::Decision{*wanted, absl::StrCat("a container create on ", *wanted, " is waiting for it")};
  }
  if (!placed.ok()) return placed.status();
  route.backend = Backend(placed->backend);
  image_records_.NotePull(image, placed->backend, placed->rule);
  spdlog::info("image={} pull backend={} ({})", image, placed->backend, placed->rule);
  return route;
}

absl::StatusOr<EngineReply> SchedulerCore::ForwardWhole(const ForwardRoute& route,
                                                        const std::string& method,
                                                        const std::string& body) {
  http::ApiTarget t = http::ParseTarget(route.target);
  const api_routes::RouteEntry& entry = *route.entry;
  switch (entry.routing) {
    case Routing::kSharedResource:
      if (t.segments[0] == "networks") return resources_.Networks(method, route.target, body);
      return resources_.Volumes(method, route.target, body);
    case Routing::kFanOutMerge: {
      auto replies = OnEachBackend(backends_, [&](BackendClient& b) { return b.Call(method, route.target, body); });
      for (size_t i = 0; i < replies.size(); ++i) {
        if (!replies[i].ok()) replies[i] = NameBackendFailure(backends_[i]->name(), replies[i].status());
      }
      if (entry.merge == api_routes::Merge::kPrune) return MergePrune(replies, entry.merge_key);
      if (entry.merge == api_routes::Merge::kDiskUsage) return MergeDiskUsage(replies);
      return FirstSuccess(replies);
    }
    case Routing::kImageEverywhere:
      return OnEveryHolder(route, method);
    default:
      break;
  }
  if (entry.handler == "ContainerDelete") return RemoveContainer(route);
  if (entry.handler == "ContainerExecCreate") return ExecCreate(route, body);
  if (entry.handler == "ContainerStart" || entry.handler == "ContainerRestart") {
    return ports_->Start(*route.backend, route.target, route.container_id);
  }
  if (entry.handler == "ContainerRename") return Rename(route);
  return absl::InternalError(absl::StrCat(entry.handler, " is not answered whole"));
}

absl::StatusOr<EngineReply> SchedulerCore::ExecCreate(const ForwardRoute& route, const std::string& body) {
  absl::StatusOr<EngineReply> reply = route.backend->Call("POST", route.target, body);
  if (reply.ok() && reply->status == 201) {
    json created = json::parse(reply->body, nullptr, false);
    if (created.is_object() && created.contains("Id")) {
      absl::Status recorded =
          store_->PutExec({created["Id"].get<std::string>(), route.container_id, route.backend->name()});
      if (!recorded.ok()) spdlog::warn("exec on container={} not recorded: {}", route.container_id, recorded.ToString());
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

absl::StatusOr<EngineReply> SchedulerCore::OnEveryHolder(const ForwardRoute& route, const std::string& method) {
  http::ApiTarget t = http::ParseTarget(route.target);
  std::vector<BackendClient*> holders = BackendsWithImage(t.api_version, http::UrlEncode(route.object));
  if (holders.empty()) return route.backend->Call(method, route.target);  // dockerd's own "No such image"
  // A copy in use keeps every copy: its VM refuses the removal in
  // dockerd's words (409), and the other copies stay.
  if (method == "DELETE" && !http::QueryBool(t.query, "force")) {
    const std::string users = http::BuildTarget(
        t.api_version, "/containers/json",
        absl::StrCat("all=1&filters=", http::UrlEncode(json{{"ancestor", {route.object}}}.dump())));
    for (BackendClient* backend : holders) {
      absl::StatusOr<EngineReply> listed = backend->Call("GET", users);
      if (listed.ok() && listed->status == 200 && json::parse(listed->body, nullptr, false) != json::array()) {
        return backend->Call(method, route.target);
      }
    }
  }
  // A removal answers with what went in each VM, each row once; a tag
  // answers 201 with no body in each.
  json merged = json::array();
  std::optional<EngineReply> first_error;
  std::optional<EngineReply> last_ok;
  for (BackendClient* backend : holders) {
    absl::StatusOr<EngineReply> reply = backend->Call(method, route.target);
    if (!reply.ok()) return NameBackendFailure(backend->name(), reply.status());
    if (reply->status < 200 || reply->status >= 300) {
      if (!first_error) first_error = *reply;
      continue;
    }
    last_ok = *reply;
    json items = json::parse(reply->body, nullptr, false);
    if (!items.is_array()) continue;
    for (auto& item : items) {
      if (std::find(merged.begin(), merged.end(), item) == merged.end()) merged.push_back(item);
    }
  }
  if (first_error.has_value()) return *first_error;
  if (method != "DELETE") return *last_ok;
  return JsonReply(200, merged);
}

absl::StatusOr<BackendClient*> SchedulerCore::PlaceLoad(const std::string& arch) {
  if (arch.empty()) return backends_.front().get();
  absl::StatusOr<placement::Decision> placed = placer_.PlaceArch(arch);
  if (!placed.ok()) return placed.status();
  spdlog::info("image archive arch={} load backend={} ({})", arch, placed->backend, placed->rule);
  image_records_.NoteLoad(placed->backend, absl::StrCat("an archive of arch ", arch, ": ", placed->rule));
  BackendClient* backend = Backend(placed->backend);
  if (backend == nullptr) return absl::UnavailableError(absl::StrCat("backend ", placed->backend, " is not configured"));
  return backend;
}

absl::StatusOr<EngineReply> SchedulerCore::RemoveContainer(const ForwardRoute& route) {
  absl::StatusOr<EngineReply> reply = route.backend->Call("DELETE", route.target);
  if (!reply.ok() || reply->status != 204) return reply;
  const std::string& id = route.container_id;
  absl::Status forgotten = store_->Apply([&](registry::Store& tx) -> absl::Status {
    absl::StatusOr<registry::WorkloadRecord> record = tx.GetWorkload(id);
    if (!record.ok()) return absl::OkStatus();
    absl::Status s = tx.DeleteWorkload(id);
    if (!s.ok()) return s;
    return tx.DeleteGroupIfEmpty(record->group_id);
  });
  if (!forgotten.ok()) spdlog::warn("container={} removal not recorded: {}", id.substr(0, 12), forgotten.ToString());
  {
    absl::MutexLock lock(&mu_);
    container_backend_.erase(id);
  }
  return reply;
}

}  // namespace switchyard::scheduler
