#include "services/scheduler/scheduler_service.h"

#include <unistd.h>

#include <cstdio>
#include "services/scheduler/image_archive.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/http/api_target.h"
#include "libs/relay/stream_relay.h"
#include "libs/rpc/status_grpc.h"
#include "services/scheduler/buildkit/progress_note.h"
#include "services/scheduler/buildkit/socket_pump.h"

namespace switchyard::scheduler {
namespace {

using types::v1::DockerReply;

// How long a BuildKit session waits for the build that names it (a /build
// or a Control/Solve), before it is closed. Clients send both at once.
constexpr absl::Duration kSessionWaitsForBuild = absl::Seconds(10);
using types::v1::EngineFrame;

grpc::Status ToReply(const absl::StatusOr<EngineReply>& result, DockerReply* reply) {
  if (!result.ok()) return rpc::ToGrpc(result.status());
  reply->set_status(result->status);
  for (const auto& [name, value] : result->headers) {
    auto* h = reply->add_headers();
    h->set_name(name);
    h->set_value(value);
  }
  reply->set_body(result->body);
  return grpc::Status::OK;
}

template <typename Stream>
void WriteWhole(Stream& stream, const EngineReply& reply) {
  EngineFrame frame;
  auto* head = frame.mutable_response();
  head->set_status(reply.status);
  head->set_content_length(static_cast<int64_t>(reply.body.size()));
  for (const auto& [name, value] : reply.headers) {
    auto* h = head->add_headers();
    h->set_name(name);
    h->set_value(value);
  }
  stream.Write(frame);
  if (!reply.body.empty()) {
    EngineFrame data;
    data.set_data(reply.body);
    stream.Write(data);
  }
}

// A build's first progress line, as its /build answer carries it.
std::string BuildPreface(const BuildDecision& decision) {
  return buildkit::BuildAnswerPreface(BuildProgressLine(decision), decision.kind == "buildkit");
}

}  // namespace

grpc::Status SchedulerService::ServeBuildkit(grpc::ServerContext& context, ForwardStream& stream) {
  std::optional<buildkit::SocketPair> pair = buildkit::MakeSocketPair();
  if (!pair) return grpc::Status(grpc::StatusCode::INTERNAL, "socketpair failed");
  EngineFrame head;
  head.mutable_response()->set_status(101);
  head.mutable_response()->set_hijacked(true);
  head.mutable_response()->set_content_length(-1);
  if (!stream.Write(head)) {
    ::close(pair->ours);
    ::close(pair->grpcs);
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  }
  buildkit_.Serve(pair->grpcs);
  buildkit::PumpFrames(stream, pair->ours, [&context] { context.TryCancel(); });
  ::close(pair->ours);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::CreateContainer(grpc::ServerContext*, const v1::CreateContainerRequest* request,
                                               DockerReply* reply) {
  return ToReply(core_.CreateContainer(request->api_version(), request->name(), request->platform(),
                                       request->body()),
                 reply);
}

grpc::Status SchedulerService::ListContainers(grpc::ServerContext*, const v1::ListRequest* request,
                                              DockerReply* reply) {
  return ToReply(core_.ListContainers(request->api_version(), request->query()), reply);
}

grpc::Status SchedulerService::ListImages(grpc::ServerContext*, const v1::ListRequest* request,
                                          DockerReply* reply) {
  return ToReply(core_.ListImages(request->api_version(), request->query()), reply);
}

grpc::Status SchedulerService::GetSystemInfo(grpc::ServerContext*, const v1::GetSystemInfoRequest* request,
                                             DockerReply* reply) {
  return ToReply(core_.SystemInfo(request->api_version()), reply);
}

grpc::Status SchedulerService::GetVersion(grpc::ServerContext*, const v1::GetVersionRequest* request,
                                          DockerReply* reply) {
  return ToReply(core_.Version(request->api_version()), reply);
}

grpc::Status SchedulerService::StreamEvents(grpc::ServerContext* context, const v1::ListRequest* request,
                                            grpc::ServerWriter<EngineFrame>* writer) {
  // The merged stream's head goes out before any event: first let one
  // engine judge the query (bad filters, since after until), over a window
  // that ends at once, so a refusal is dockerd's own status and text.
  {
    const std::string since = http::QueryValue(request->query(), "since").value_or("1");
    const std::string probe = http::BuildTarget(request->api_version(), "/events",
                                                http::WithQueryValue(request->query(), "until", since));
    absl::StatusOr<EngineReply> judged = core_.backends().front()->Call("GET", probe);
    if (judged.ok() && judged->status != 200) {
      WriteWhole(*writer, *judged);
      return grpc::Status::OK;
    }
  }
  absl::Mutex write_mu;
  std::atomic<int> open_streams{0};
  // One slot per backend: a sleeping VM's stream is opened again (see below).
  absl::Mutex contexts_mu;
  std::vector<std::shared_ptr<grpc::ClientContext>> contexts(core_.backends().size());
  std::vector<std::thread> readers;
  // A VM asleep when the stream starts has no events yet; once it wakes,
  // its events since this moment join the stream (dockerd replays them).
  const std::string started = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
  const bool open_ended = !http::QueryValue(request->query(), "until").has_value();
  {
    EngineFrame head;
    head.mutable_response()->set_status(200);
    head.mutable_response()->set_content_length(-1);
    auto* h = head.mutable_response()->add_headers();
    h->set_name("Content-Type");
    h->set_value("application/json");
    writer->Write(head);
  }
  for (size_t slot = 0; slot < core_.backends().size(); ++slot) {
    ++open_streams;
    readers.emplace_back([&, slot, b = core_.backends()[slot].get()] {
      std::string query = request->query();
      for (;;) {
        auto backend_context = std::make_shared<grpc::ClientContext>();
        {
          absl::MutexLock lock(&contexts_mu);
          if (context->IsCancelled()) break;
          contexts[slot] = backend_context;
        }
        auto stream = b->OpenStream(*backend_context);
        EngineFrame frame;
        auto* head = frame.mutable_request();
        head->set_method("GET");
        head->set_target(http::BuildTarget(request->api_version(), "/events", query));
        head->set_content_length(0);
        // Watching events neither wakes a sleeping VM nor keeps it up.
        head->set_passive(true);
        stream->Write(frame);
        stream->WritesDone();
        std::string pending;
        while (stream->Read(&frame)) {
          if (frame.has_response() && frame.response().status() != 200) break;
          if (!frame.has_data()) continue;
          pending.append(frame.data());
          // Whole JSON lines only, so events of two backends never interleave mid-line.
          size_t end = pending.rfind('\n');
          if (end == std::string::npos) continue;
          EngineFrame out;
          out.set_data(pending.substr(0, end + 1));
          pending.erase(0, end + 1);
          absl::MutexLock lock(&write_mu);
          if (!writer->Write(out)) break;
        }
        grpc::Status status = stream->Finish();
        const bool asleep = status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                            absl::StrContains(status.error_message(), " is asleep");
        if (asleep && open_ended && !context->IsCancelled()) {
          // Watch for it to wake, from the stream's start.
          if (!http::QueryValue(request->query(), "since")) query = http::WithQueryValue(query, "since", started);
          std::this_thread::sleep_for(std::chrono::seconds(1));
          continue;
        }
        if (!status.ok() && !context->IsCancelled()) {
          spdlog::warn("backend={} event stream ended: {}", b->name(), status.error_message());
        }
        break;
      }
      --open_streams;
    });
  }
  while (open_streams > 0 && !context->IsCancelled()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  {
    absl::MutexLock lock(&contexts_mu);
    for (auto& c : contexts) {
      if (c) c->TryCancel();
    }
  }
  for (auto& t : readers) t.join();
  return grpc::Status::OK;
}

grpc::Status SchedulerService::Forward(grpc::ServerContext* context,
                                       grpc::ServerReaderWriter<EngineFrame, EngineFrame>* stream) {
  EngineFrame first;
  if (!stream->Read(&first) || !first.has_request()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "forward without a request head");
  }
  const auto& head = first.request();
  absl::StatusOr<ForwardRoute> route = core_.RouteForward(head.method(), head.target());
  if (!route.ok()) return rpc::ToGrpc(route.status());
  if (route->backend == nullptr) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no backend for request");

  if (route->entry->handler == "Session") {
    // A session waits for the build that names it, then goes to its engine.
    std::string id;
    for (const auto& h : head.headers()) {
      if (absl::EqualsIgnoreCase(h.name(), "X-Docker-Expose-Session-Uuid")) id = h.value();
    }
    if (!id.empty()) {
      std::optional<std::string> backend = core_.build_sessions().Await(id, kSessionWaitsForBuild);
      if (!backend) {
        spdlog::warn("session={} closed: no build named it within {}", id, absl::FormatDuration(kSessionWaitsForBuild));
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                            absl::StrCat("no build named session ", id, " within ",
                                         absl::FormatDuration(kSessionWaitsForBuild)));
      }
      route->backend = core_.Backend(*backend);
      spdlog::info("session={} backend={}", id, *backend);
    }
  }
  if (route->serve_buildkit) return ServeBuildkit(*context, *stream);
  EngineFrame rewritten = first;
  rewritten.mutable_request()->set_target(route->target);
  if (route->spool_for_arch) {
    return SpoolAndPlace(*context, *stream, rewritten, [&](std::FILE* archive) {
      absl::StatusOr<std::string> arch = ArchiveArch(archive);
      return core_.PlaceLoad(arch.ok() ? *arch : "");
    });
  }
  if (route->spool_for_build) {
    const std::string query = http::ParseTarget(route->target).query;
    std::string preface;
    return SpoolAndPlace(
        *context, *stream, rewritten,
        [&](std::FILE* build_context) -> absl::StatusOr<BackendClient*> {
          absl::StatusOr<BuildDecision> placed = core_.PlaceBuild(build_context, query);
          if (!placed.ok()) return placed.status();
          preface = BuildPreface(*placed);
          return core_.Backend(placed->backend);
        },
        &preface);
  }
  if (route->handle_whole) {
    std::string body;
    EngineFrame frame;
    while (stream->Read(&frame)) {
      if (frame.has_data()) body.append(frame.data());
    }
    absl::StatusOr<EngineReply> reply = core_.ForwardWhole(*route, head.method(), body);
    if (!reply.ok()) return rpc::ToGrpc(reply.status());
    WriteWhole(*stream, *reply);
    return grpc::Status::OK;
  }
  grpc::ClientContext backend_context;
  auto backend_stream = route->backend->OpenStream(backend_context);
  const std::string preface = route->build ? BuildPreface(*route->build) : "";
  grpc::Status relayed = relay::RelayEngineCall(*context, *stream, rewritten, backend_context, *backend_stream,
                                                absl::Seconds(5), preface);
  return rpc::ToGrpc(NameBackendFailure(route->backend->name(), rpc::FromGrpc(relayed)));
}

grpc::Status SchedulerService::SpoolAndPlace(grpc::ServerContext& context, ForwardStream& stream,
                                             const EngineFrame& head,
                                             const std::function<absl::StatusOr<BackendClient*>(std::FILE*)>& place,
                                             const std::string* preface) {
  // Spooled to a file: an archive or a context may be large.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> spool(std::tmpfile(), &std::fclose);
  if (!spool) return grpc::Status(grpc::StatusCode::INTERNAL, "cannot spool the request body");
  EngineFrame frame;
  while (stream.Read(&frame)) {
    if (frame.has_data() && std::fwrite(frame.data().data(), 1, frame.data().size(), spool.get()) != frame.data().size()) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "cannot spool the request body: disk full");
    }
  }
  std::fflush(spool.get());
  absl::StatusOr<BackendClient*> backend = place(spool.get());
  if (!backend.ok()) return rpc::ToGrpc(backend.status());

  grpc::ClientContext down_ctx;
  down_ctx.set_deadline(context.deadline());
  auto down = (*backend)->OpenStream(down_ctx);
  SendSpool(*down, head, spool.get());
  while (down->Read(&frame)) {
    bool written = stream.Write(frame);
    if (written && preface != nullptr && !preface->empty() && relay::TakesPreface(frame)) {
      EngineFrame data;
      data.set_data(*preface);
      written = stream.Write(data);
    }
    if (!written) {
      down_ctx.TryCancel();
      break;
    }
  }
  return down->Finish();
}

grpc::Status SchedulerService::GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                                         v1::GetStatusResponse* response) {
  for (const auto& backend : core_.backends()) {
    auto* out = response->add_backends();
    out->set_backend(backend->name());
    absl::StatusOr<vmm::v1::GetVmStatusResponse> status = backend->GetVmStatus();
    if (!status.ok()) {
      out->set_state("unreachable");
      out->set_error(std::string(status.status().message()));
      continue;
    }
    std::string state = vmm::v1::VmState_Name(status->state());
    state = absl::AsciiStrToLower(state.substr(std::string("VM_STATE_").size()));
    out->set_state(state);
    out->set_error(status->error());
    out->set_kernel_arch(status->kernel_arch());
    for (const auto& t : status->translators()) out->add_translators(t);
    out->set_engine_version(status->engine_version());
    out->set_last_stop(status->last_stop());
    out->set_driver(status->driver());
    out->set_accelerator(status->accelerator());
    // A sleeping VM answers its list from what it last reported.
    if (status->state() == vmm::v1::VM_STATE_RUNNING || status->state() == vmm::v1::VM_STATE_ASLEEP) {
      absl::StatusOr<EngineReply> list = backend->Call("GET", "/containers/json?all=1");
      if (list.ok() && list->status == 200) {
        nlohmann::json parsed = nlohmann::json::parse(list->body, nullptr, false);
        if (parsed.is_array()) out->set_containers(static_cast<int64_t>(parsed.size()));
      }
    }
  }
  return grpc::Status::OK;
}

grpc::Status SchedulerService::ExplainContainer(grpc::ServerContext*, const v1::ExplainContainerRequest* request,
                                                v1::ExplainContainerResponse* response) {
  absl::StatusOr<registry::WorkloadRecord> record = core_.Explain(request->container());
  if (!record.ok()) return rpc::ToGrpc(record.status());
  response->set_id(record->container_id);
  response->set_name(record->name);
  response->set_backend(record->backend);
  response->set_group(record->group_id);
  response->set_platform(record->platform);
  response->set_rule(record->rule);
  return grpc::Status::OK;
}

grpc::Status SchedulerService::ExplainBuilds(grpc::ServerContext*, const v1::ExplainBuildsRequest* request,
                                             v1::ExplainBuildsResponse* response) {
  std::vector<BuildDecision> builds = core_.recent_builds().Find(request->build());
  if (builds.empty() && !request->build().empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no recent build of ", request->build()));
  }
  for (const BuildDecision& b : builds) {
    v1::BuildRecord* out = response->add_builds();
    out->set_kind(b.kind);
    out->set_ref(b.ref);
    out->set_tag(b.tag);
    out->set_platform(b.platform);
    out->set_backend(b.backend);
    out->set_rule(b.rule);
    out->set_started_unix(absl::ToUnixSeconds(b.started));
  }
  return grpc::Status::OK;
}

namespace {

void ToProto(const registry::GroupRecord& g, int64_t members, v1::Group* out) {
  out->set_id(g.id);
  out->set_backend(g.backend);
  out->set_rule(g.rule);
  out->set_pinned(g.pinned);
  out->set_members(members);
}

}  // namespace

grpc::Status SchedulerService::PinGroup(grpc::ServerContext*, const v1::PinGroupRequest* request,
                                        v1::PinGroupResponse* response) {
  absl::StatusOr<registry::GroupRecord> group = core_.PinGroup(request->group(), request->backend());
  if (!group.ok()) return rpc::ToGrpc(group.status());
  ToProto(*group, 0, response->mutable_group());
  return grpc::Status::OK;
}

grpc::Status SchedulerService::ListGroups(grpc::ServerContext*, const v1::ListGroupsRequest*,
                                          v1::ListGroupsResponse* response) {
  for (const auto& [group, members] : core_.Groups()) ToProto(group, members, response->add_groups());
  return grpc::Status::OK;
}

}  // namespace switchyard::scheduler
