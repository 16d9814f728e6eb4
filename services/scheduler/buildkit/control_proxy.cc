#include "services/scheduler/buildkit/control_proxy.h"

#include <grpcpp/server_posix.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/rpc/status_grpc.h"
#include "services/scheduler/buildkit/control_calls.h"
#include "services/scheduler/buildkit/progress_note.h"

namespace switchyard::scheduler::buildkit {
namespace {

// A Status or gateway call names a build whose Solve the client sends
// concurrently; BuildKit itself waits 3 s for an unknown build.
constexpr absl::Duration kCallWaitsForSolve = absl::Seconds(5);
// A guest's BuildKit connection no call used for this long is closed.
constexpr absl::Duration kChannelIdle = absl::Seconds(30);

std::unique_ptr<grpc::ClientContext> ContextFor(ServerCall& call) {
  auto context = std::make_unique<grpc::ClientContext>();
  CopyClientMetadata(call.context(), *context);
  context->set_deadline(call.context().deadline());
  return context;
}

// Passes the guest's answers on until it ends or the client goes; then the
// guest's final status. A client still sending (a bidi stream) is done.
grpc::Status PassAnswers(ClientCall& upstream, ServerCall& call) {
  grpc::ByteBuffer message;
  while (upstream.Read(&message)) {
    if (!call.Write(message)) {
      upstream.Cancel();
      break;
    }
  }
  upstream.StopReading();
  upstream.WritesDone();
  return upstream.Await();
}

std::string BuildIdOf(ServerCall& call) {
  const auto& metadata = call.context().client_metadata();
  auto it = metadata.find(kBuildIdKey);
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

}  // namespace

ControlProxy::ControlProxy(SchedulerCore& core) : core_(core) {
  grpc::ServerBuilder builder;
  builder.RegisterCallbackGenericService(&service_);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // BuildKit's Go clients may ping the connection; gRPC C++ would answer
  // frequent pings with GOAWAY and drop a running build.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  server_ = builder.BuildAndStart();
  janitor_ = std::thread([this] {
    while (!stopping_.WaitForNotificationWithTimeout(absl::Seconds(5))) channels_.CloseIdle(kChannelIdle);
  });
}

ControlProxy::~ControlProxy() {
  stopping_.Notify();
  janitor_.join();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

bool ControlProxy::Asleep(BackendClient& backend) const {
  absl::StatusOr<vmm::v1::GetVmStatusResponse> status = backend.GetVmStatus();
  return status.ok() && status->state() == vmm::v1::VM_STATE_ASLEEP;
}

void ControlProxy::Serve(int fd) { grpc::AddInsecureChannelFromFd(server_.get(), fd); }

grpc::ServerGenericBidiReactor* ControlProxy::Service::CreateReactor(grpc::GenericCallbackServerContext* context) {
  return new ServerCall(context, [this](ServerCall& call) { proxy_.Handle(call); });
}

void ControlProxy::Handle(ServerCall& call) {
  const std::string& method = call.context().method();
  const CallKind kind = KindOf(method);
  if (kind == CallKind::kBridge) {
    const std::string build = BuildIdOf(call);
    std::optional<BuildRefs::Binding> binding = build.empty() ? std::nullopt : refs_.Await(build, kCallWaitsForSolve);
    BackendClient* backend = binding ? core_.Backend(binding->backend) : nullptr;
    Relay(call, backend ? *backend : Native(), std::nullopt);
    return;
  }
  if (kind == CallKind::kNative) {
    Relay(call, Native(), std::nullopt);
    return;
  }
  // The rest are read before they are routed: each opens with its request.
  grpc::ByteBuffer request;
  if (!call.Read(&request)) {
    call.Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call ended before its request"));
    return;
  }
  switch (kind) {
    case CallKind::kControlSolve:
      return Solve(call, request);
    case CallKind::kStatus:
      return Status(call, request);
    case CallKind::kMergedUnary:
      return MergeUnary(call, request);
    case CallKind::kMergedStream:
      return MergeStream(call, request);
    default:
      return Relay(call, Native(), request);
  }
}

void ControlProxy::Solve(ServerCall& call, const grpc::ByteBuffer& request) {
  std::optional<ControlSolve> solve = ParseControlSolve(Flatten(request));
  if (!solve) {
    call.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cannot read the Solve request"));
    return;
  }
  absl::StatusOr<BuildDecision> placed = core_.PlaceBuildKit("buildx", solve->platform);
  if (!placed.ok()) {
    spdlog::warn("build ref={} platform={} refused: {}", solve->ref, solve->platform, placed.status().ToString());
    call.Finish(rpc::ToGrpc(placed.status()));
    return;
  }
  placed->ref = solve->ref;
  placed->tag = solve->tag;
  // Its session (opened through /session) goes to the same engine.
  if (!solve->session.empty()) {
    const std::string went = core_.build_sessions().Claim(solve->session, placed->backend);
    if (went != placed->backend) {
      spdlog::warn("build ref={} runs on backend={}, where its session went, not {}", solve->ref, went,
                   placed->backend);
      placed->backend = went;
      placed->rule = absl::StrCat("its session had gone to ", went, " before the build came");
    }
  }
  BackendClient* backend = core_.Backend(placed->backend);
  refs_.Begin(solve->ref, {placed->backend, solve->internal ? "" : BuildProgressLine(*placed)});
  if (!solve->internal) {
    spdlog::info("build kind=buildx ref={} tag={} platform={} backend={} ({})", solve->ref, solve->tag,
                 solve->platform, placed->backend, placed->rule);
    core_.recent_builds().Add(*placed);
  }
  Relay(call, *backend, request);
}

void ControlProxy::Status(ServerCall& call, const grpc::ByteBuffer& request) {
  std::optional<std::string> ref = ParseStatusRef(Flatten(request));
  std::optional<BuildRefs::Binding> binding = ref ? refs_.Await(*ref, kCallWaitsForSolve) : std::nullopt;
  BackendClient* backend = binding ? core_.Backend(binding->backend) : nullptr;
  Relay(call, backend ? *backend : Native(), request, binding ? binding->note : "");
}

void ControlProxy::MergeUnary(ServerCall& call, const grpc::ByteBuffer& request) {
  const std::string& method = call.context().method();
  std::vector<std::string> answers;
  std::optional<grpc::Status> failure;
  for (const auto& backend : core_.backends()) {
    if (Asleep(*backend)) continue;
    absl::StatusOr<std::shared_ptr<EngineChannel>> channel = channels_.Get(*backend);
    if (!channel.ok()) {
      spdlog::warn("backend={} {}: {}", backend->name(), method, channel.status().ToString());
      if (!failure) failure = rpc::ToGrpc(channel.status());
      continue;
    }
    ClientCall upstream((*channel)->stub(), method, ContextFor(call));
    upstream.Write(request);
    upstream.WritesDone();
    grpc::ByteBuffer answer;
    const bool answered = upstream.Read(&answer);
    upstream.StopReading();
    grpc::Status status = upstream.Await();
    if (status.ok() && answered) {
      answers.push_back(Flatten(answer));
      continue;
    }
    spdlog::warn("backend={} {}: {}", backend->name(), method, status.error_message());
    if (!failure) failure = status;
  }
  if (answers.empty()) {
    call.Finish(failure.value_or(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no backend answered")));
    return;
  }
  call.Write(FromString(MergeUnaryAnswers(answers)));
  call.Finish(grpc::Status::OK);
}

void ControlProxy::MergeStream(ServerCall& call, const grpc::ByteBuffer& request) {
  const std::string& method = call.context().method();
  std::optional<grpc::Status> failure;
  bool any_ok = false;
  for (const auto& backend : core_.backends()) {
    absl::StatusOr<std::shared_ptr<EngineChannel>> channel = channels_.Get(*backend);
    if (!channel.ok()) {
      if (!failure) failure = rpc::ToGrpc(channel.status());
      continue;
    }
    ClientCall upstream((*channel)->stub(), method, ContextFor(call));
    call.OnCancelled([&upstream] { upstream.Cancel(); });
    upstream.Write(request);
    upstream.WritesDone();
    grpc::Status status = PassAnswers(upstream, call);
    call.OnCancelled(nullptr);
    if (status.ok()) {
      any_ok = true;
    } else {
      spdlog::warn("backend={} {}: {}", backend->name(), method, status.error_message());
      if (!failure) failure = status;
    }
    if (call.cancelled()) break;
  }
  call.Finish(any_ok ? grpc::Status::OK : failure.value_or(grpc::Status::OK));
}

void ControlProxy::Relay(ServerCall& call, BackendClient& backend, const std::optional<grpc::ByteBuffer>& first,
                         const std::string& note) {
  const std::string& method = call.context().method();
  absl::StatusOr<std::shared_ptr<EngineChannel>> channel = channels_.Get(backend);
  if (!channel.ok()) {
    spdlog::warn("backend={} {}: {}", backend.name(), method, channel.status().ToString());
    call.Finish(rpc::ToGrpc(channel.status()));
    return;
  }
  ClientCall upstream((*channel)->stub(), method, ContextFor(call));
  call.OnCancelled([&upstream] { upstream.Cancel(); });
  // Client → guest on its own thread; it ends when the client half-closes,
  // or when the call is finished below.
  std::thread requests([&] {
    bool open = !first || upstream.Write(*first);
    grpc::ByteBuffer message;
    while (open && call.Read(&message)) open = upstream.Write(message);
    upstream.WritesDone();
  });
  if (!note.empty()) call.Write(FromString(ProgressNote(note)));
  grpc::Status status = PassAnswers(upstream, call);
  call.OnCancelled(nullptr);
  call.Finish(status);
  requests.join();
}

}  // namespace switchyard::scheduler::buildkit
