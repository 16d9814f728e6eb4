#include "services/vmm/vm_manager_service.h"

#include "libs/tunnel/handoff.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "guest-agent/translator_probe_proto.h"
#include "nlohmann/json.hpp"
#include "services/vmm/idle_rules.h"
#include "libs/relay/stream_relay.h"
#include "libs/rpc/status_grpc.h"
#include "libs/rpc/unix_channel.h"
#include "libs/tunnel/sockets.h"
#include "spdlog/spdlog.h"

namespace switchyard::vmm {

namespace pb = switchyard::vmm::v1;
namespace agentpb = switchyard::agent::v1;

AgentConnector UnixAgentConnector() {
  // The sandbox's stand-in for vsock port 1024: a connected Unix socket whose
  // fd gRPC takes over, as a VZ socket device or a hybrid-vsock handshake
  // would hand one over. nullptr while the agent is not listening.
  return [](const std::string& endpoint) -> std::shared_ptr<agentpb::GuestAgent::StubInterface> {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd < 0 || endpoint.size() >= sizeof(addr.sun_path)) {
      if (fd >= 0) ::close(fd);
      return nullptr;
    }
    std::memcpy(addr.sun_path, endpoint.data(), endpoint.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return nullptr;
    }
    return agentpb::GuestAgent::NewStub(rpc::FdChannel(fd));
  };
}

void VmManagerService::Redial() {
  auto agent = connector_(driver_->AgentEndpoint());
  absl::MutexLock lock(&mu_);
  agent_ = std::move(agent);
}

VmManagerService::VmManagerService(std::unique_ptr<VmDriver> driver, VmSpec spec, AgentConnector connector,
                                   VmManagerOptions options)
    : driver_(std::move(driver)),
      spec_(std::move(spec)),
      connector_(std::move(connector)),
      options_(options),
      ports_(spec_.backend, [this] { return DialTunnel(); }, options.ports, [this] { return DialHandoff(); }) {}

VmManagerService::~VmManagerService() { Shutdown(); }

void VmManagerService::Start() { thread_ = std::thread([this] { Run(); }); }

void VmManagerService::Shutdown() {
  // Listeners first: nothing new should reach a VM that is going away.
  ports_.Shutdown();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void VmManagerService::SetState(pb::VmState state, std::string error) {
  absl::MutexLock lock(&mu_);
  if (state != state_ || error != error_) {
    if (error.empty()) {
      spdlog::info("vmm[{}] VM state {}", spec_.backend, pb::VmState_Name(state));
    } else {
      spdlog::warn("vmm[{}] VM state {}: {}", spec_.backend, pb::VmState_Name(state), error);
    }
  }
  state_ = state;
  error_ = std::move(error);
  agent_reachable_ = state == pb::VM_STATE_RUNNING || state == pb::VM_STATE_DEGRADED;
}

bool VmManagerService::SleepUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
  mu_.AwaitWithTimeout(absl::Condition(&stopping), d);
  return !stopping_;
}

bool VmManagerService::Poll(absl::Duration timeout, std::string* error) {
  std::shared_ptr<agentpb::GuestAgent::StubInterface> agent;
  {
    absl::MutexLock lock(&mu_);
    agent = agent_;
  }
  if (agent == nullptr) {
    *error = "no agent connection";
    return false;
  }
  grpc::ClientContext ctx;
  rpc::SetTimeout(ctx, timeout);
  ctx.set_wait_for_ready(true);
  agentpb::GetInfoResponse info;
  grpc::Status status = agent->GetInfo(&ctx, agentpb::GetInfoRequest(), &info);
  if (!status.ok()) {
    *error = status.error_message().empty() ? absl::StrCat("gRPC code ", status.error_code()) : status.error_message();
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    info_ = info;
  }
  if (info.engine_state() == agentpb::ENGINE_STATE_RUNNING) {
    SetState(pb::VM_STATE_RUNNING, "");
  } else {
    std::string why = absl::StrCat("guest engine is ", agentpb::EngineState_Name(info.engine_state()));
    if (!info.engine_error().empty()) absl::StrAppend(&why, ": ", info.engine_error());
    // The engine's first start is part of the boot: callers wait for it.
    // A later restart of the engine is a degraded VM.
    bool first_start;
    {
      absl::MutexLock lock(&mu_);
      first_start = state_ == pb::VM_STATE_BOOTING && info.engine_state() == agentpb::ENGINE_STATE_STARTING;
    }
    SetState(first_start ? pb::VM_STATE_BOOTING : pb::VM_STATE_DEGRADED, why);
  }
  return true;
}

VmManagerService::CallScope::CallScope(VmManagerService& vmm, bool counted) : vmm_(vmm), counted_(counted) {
  if (!counted_) return;
  absl::MutexLock lock(&vmm_.mu_);
  ++vmm_.calls_in_flight_;
  vmm_.last_call_ = absl::Now();
}

VmManagerService::CallScope::~CallScope() {
  if (!counted_) return;
  absl::MutexLock lock(&vmm_.mu_);
  --vmm_.calls_in_flight_;
  vmm_.last_call_ = absl::Now();
}

absl::StatusOr<std::pair<int, std::string>> VmManagerService::EngineGet(const std::string& target) {
  std::shared_ptr<agentpb::GuestAgent::StubInterface> agent;
  {
    absl::MutexLock lock(&mu_);
    agent = agent_;
  }
  if (agent == nullptr) return absl::UnavailableError("no agent connection");
  grpc::ClientContext ctx;
  rpc::SetTimeout(ctx, absl::Seconds(10));
  switchyard::types::v1::DockerRequest request;
  request.set_method("GET");
  request.set_target(target);
  switchyard::types::v1::DockerReply reply;
  grpc::Status status = agent->EngineExchange(&ctx, request, &reply);
  if (!status.ok()) return rpc::FromGrpc(status);
  return std::make_pair(static_cast<int>(reply.status()), reply.body());
}

std::optional<std::string> VmManagerService::IdleReason() {
  VmActivity activity;
  {
    absl::MutexLock lock(&mu_);
    activity.calls_in_flight = calls_in_flight_;
    activity.since_last_call = absl::Now() - last_call_;
  }
  if (!MayBeIdle(activity.calls_in_flight, activity.since_last_call, options_.idle_stop)) return std::nullopt;
  absl::StatusOr<std::pair<int, std::string>> info = EngineGet("/info");
  if (!info.ok() || info->first != 200) return std::nullopt;
  nlohmann::json body = nlohmann::json::parse(info->second, nullptr, false);
  if (!body.is_object()) return std::nullopt;
  activity.containers_running = body.value("ContainersRunning", -1);
  activity.containers_paused = body.value("ContainersPaused", -1);
  return IdleStopReason(activity, options_.idle_stop);
}

bool VmManagerService::GoToSleep(const std::string& why) {
  {
    absl::MutexLock lock(&mu_);
    // A call that came in since the check keeps the VM up.
    if (calls_in_flight_ > 0) return false;
    state_ = pb::VM_STATE_STOPPING;
    agent_reachable_ = false;
  }
  spdlog::info("vmm[{}] VM going to sleep: {}", spec_.backend, why);
  absl::StatusOr<AsleepSnapshot> snapshot = AsleepSnapshot::Take([this](const std::string& t) { return EngineGet(t); });
  if (!snapshot.ok()) {
    spdlog::warn("vmm[{}] stays up: cannot record what its engine reports: {}", spec_.backend,
                 snapshot.status().ToString());
    SetState(pb::VM_STATE_RUNNING, "");
    absl::MutexLock lock(&mu_);
    last_call_ = absl::Now();  // try again after another idle period
    return false;
  }
  if (absl::Status saved = snapshot->Save(spec_.state_dir + "/asleep.json"); !saved.ok()) {
    spdlog::warn("vmm[{}] {}", spec_.backend, saved.ToString());
  }
  absl::Status stopped = driver_->Stop(options_.stop_grace);
  if (!stopped.ok()) spdlog::warn("vmm[{}] stop: {}", spec_.backend, stopped.ToString());
  absl::MutexLock lock(&mu_);
  snapshot_ = *std::move(snapshot);
  state_ = pb::VM_STATE_ASLEEP;
  error_.clear();
  last_stop_ = why;
  agent_ = nullptr;
  vm_pid_ = 0;
  spdlog::info("vmm[{}] VM asleep", spec_.backend);
  return true;
}

bool VmManagerService::AwaitWake() {
  absl::MutexLock lock(&mu_);
  auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return wake_requested_ || stopping_; };
  mu_.Await(absl::Condition(&woken));
  if (stopping_) return false;
  wake_requested_ = false;
  return true;
}

std::optional<switchyard::types::v1::DockerReply> VmManagerService::AsleepAnswer(const std::string& method,
                                                                                  const std::string& target) {
  absl::MutexLock lock(&mu_);
  if (state_ != pb::VM_STATE_ASLEEP || !snapshot_) return std::nullopt;
  return snapshot_->Answer(method, target, absl::Now());
}

bool VmManagerService::BootOnce(bool adopt) {
  {
    // While rebooting, keep saying why the last boot or run ended.
    absl::MutexLock lock(&mu_);
    if (!error_.empty() && state_ == pb::VM_STATE_FAILED) {
      error_ = absl::StrCat("VM ", spec_.backend, " is rebooting after: ", error_);
    }
    state_ = pb::VM_STATE_BOOTING;
    agent_reachable_ = false;
  }
  // A manager that restarted carries on with the VM it left running, and
  // the containers in it keep running.
  const bool adopted = std::exchange(adopted_, false) || (adopt && driver_->Adopt(spec_));
  if (!adopted) {
    spdlog::info("vmm[{}] booting the VM", spec_.backend);
    absl::Status booted = driver_->Boot(spec_);
    if (!booted.ok()) {
      SetState(pb::VM_STATE_FAILED, absl::StrCat("VM ", spec_.backend, " failed to boot: ", booted.message()));
      return false;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    vm_pid_ = driver_->Pid();
    accelerator_ = driver_->Accelerator();
    tunnel_endpoint_ = driver_->TunnelEndpoint();
    handoff_endpoint_ = driver_->HandoffEndpoint();
    agent_ = connector_(driver_->AgentEndpoint());
  }
  // The agent needs a moment to listen: retry, bounded.
  absl::Time deadline = absl::Now() + options_.agent_boot_timeout;
  std::string last_error;
  while (true) {
    if (!driver_->IsRunning()) {
      last_error = driver_->ExitReason();
      break;
    }
    if (Poll(absl::Seconds(2), &last_error)) return true;
    Redial();  // the agent may not have been listening yet
    if (absl::Now() >= deadline) {
      last_error = absl::StrCat("agent did not answer within ", absl::FormatDuration(options_.agent_boot_timeout),
                                ": ", last_error);
      break;
    }
    if (!SleepUnlessStopping(absl::Milliseconds(300))) return false;
  }
  SetState(pb::VM_STATE_FAILED, absl::StrCat("VM ", spec_.backend, " failed to boot: ", last_error,
                                             " (see ", spec_.state_dir, "/agent.log)"));
  (void)driver_->Stop(absl::Seconds(5));
  return false;
}

std::string VmManagerService::Watch(bool* idle) {
  int misses = 0;
  *idle = false;
  while (SleepUnlessStopping(options_.poll_interval)) {
    if (!driver_->IsRunning()) {
      return absl::StrCat("VM ", spec_.backend, " stopped unexpectedly: ", driver_->ExitReason());
    }
    std::string error;
    if (Poll(absl::Seconds(3), &error)) {
      misses = 0;
      if (std::optional<std::string> why = IdleReason()) {
        *idle = true;
        return *why;
      }
    } else if (++misses >= 3) {
      SetState(pb::VM_STATE_DEGRADED, absl::StrCat("agent of VM ", spec_.backend, " is not answering: ", error));
      {
        absl::MutexLock lock(&mu_);
        agent_reachable_ = false;
      }
      Redial();  // drop the stale connection, as a host agent does after a guest hiccup
    }
  }
  return "";
}

void VmManagerService::Run() {
  int failures = 0;
  // First try to take over the VM a previous manager left running.
  bool adopt = true;
  if (!options_.boot_at_start) {
    // Started on demand: a VM left running is carried on with; otherwise it
    // sleeps until a call needs it.
    if (driver_->Adopt(spec_)) {
      adopted_ = true;
    } else {
      VmDriver::Expected expected = driver_->ExpectedBeforeBoot(spec_);
      {
        absl::MutexLock lock(&mu_);
        expected_ = std::move(expected);
        snapshot_ = AsleepSnapshot::Load(spec_.state_dir + "/asleep.json");
        if (!snapshot_) snapshot_ = AsleepSnapshot::Empty();
        state_ = pb::VM_STATE_ASLEEP;
        agent_reachable_ = false;
        last_stop_ = "not started yet: it starts when a workload needs it";
      }
      spdlog::info("vmm[{}] VM asleep until a workload needs it", spec_.backend);
      adopt = false;
      if (!AwaitWake()) return Halt();
    }
  }
  for (;; adopt = false) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    if (BootOnce(adopt)) {
      failures = 0;
      bool woken = false;
      std::string stopped;
      for (;;) {
        bool idle = false;
        stopped = Watch(&idle);
        if (!idle) break;
        if (!GoToSleep(stopped)) continue;  // a call came: it stays up
        if (!AwaitWake()) return Halt();
        woken = true;
        break;
      }
      if (woken) continue;  // boot again, at once
      // A VM that ran and went down is booting again from now on, so that
      // requests wait for it (bounded) rather than fail during the reboot.
      // One that did not even boot stays FAILED: its next boot may fail too.
      if (!stopped.empty()) {
        SetState(pb::VM_STATE_BOOTING, absl::StrCat("VM ", spec_.backend, " is rebooting after: ", stopped));
      }
    }
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    // Clean whatever the dead VM left, then reboot with backoff.
    (void)driver_->Stop(absl::Seconds(5));
    ++failures;
    absl::Duration backoff = std::min(absl::Seconds(1) * (1 << std::min(failures - 1, 5)), options_.max_reboot_backoff);
    spdlog::info("vmm[{}] rebooting the VM in {}", spec_.backend, absl::FormatDuration(backoff));
    if (!SleepUnlessStopping(backoff)) break;
  }
  Halt();
}

void VmManagerService::Halt() {
  spdlog::info("vmm[{}] stopping the VM", spec_.backend);
  absl::Status stopped = driver_->Stop(options_.stop_grace);
  if (!stopped.ok()) spdlog::warn("vmm[{}] stop: {}", spec_.backend, std::string(stopped.message()));
  absl::MutexLock lock(&mu_);
  state_ = pb::VM_STATE_STOPPED;
  error_ = "VM stopped";
  agent_reachable_ = false;
  vm_pid_ = 0;
}

absl::StatusOr<int> VmManagerService::DialTunnel() {
  std::string endpoint;
  {
    // Tunnels only while the agent answers: a booting or dead VM refuses
    // them at once instead of after a connect timeout.
    absl::MutexLock lock(&mu_);
    if (!agent_reachable_ || tunnel_endpoint_.empty()) {
      return absl::UnavailableError(absl::StrCat("backend ", spec_.backend, " is not running"));
    }
    endpoint = tunnel_endpoint_;
  }
  return tunnel::ConnectUnix(endpoint);
}

absl::StatusOr<int> VmManagerService::DialHandoff() {
  std::string endpoint;
  {
    absl::MutexLock lock(&mu_);
    if (handoff_endpoint_.empty()) return absl::UnimplementedError("this VM cannot take host sockets");
    if (!agent_reachable_) return absl::UnavailableError(absl::StrCat("backend ", spec_.backend, " is not running"));
    endpoint = handoff_endpoint_;
  }
  return tunnel::ConnectHandoff(endpoint, absl::Seconds(5));
}

grpc::Status VmManagerService::SyncPorts(grpc::ServerContext*, const pb::SyncPortsRequest* request,
                                         pb::SyncPortsResponse* response) {
  std::vector<ForwardedPort> ports;
  ports.reserve(request->ports_size());
  for (const pb::PublishedPort& p : request->ports()) {
    ports.push_back({p.protocol(), p.host_ip(), p.host_port(), p.guest_ip(), p.guest_port(), p.container_id()});
  }
  SyncResult result = ports_.Sync(ports);
  for (const PortFailure& f : result.failures) {
    pb::PortFailure* failure = response->add_failures();
    pb::PublishedPort* port = failure->mutable_port();
    port->set_protocol(f.port.protocol);
    port->set_host_ip(f.port.host_ip);
    port->set_host_port(f.port.host_port);
    port->set_guest_ip(f.port.guest_ip);
    port->set_guest_port(f.port.guest_port);
    port->set_container_id(f.port.container_id);
    failure->set_error(f.error);
  }
  response->set_bound(result.bound);
  return grpc::Status::OK;
}

grpc::Status VmManagerService::GetVmStatus(grpc::ServerContext*, const pb::GetVmStatusRequest*,
                                           pb::GetVmStatusResponse* response) {
  absl::MutexLock lock(&mu_);
  response->set_backend(spec_.backend);
  response->set_driver(driver_->Name());
  response->set_accelerator(accelerator_);
  response->set_state(state_);
  response->set_error(error_);
  response->set_vm_pid(state_ == pb::VM_STATE_STOPPED || state_ == pb::VM_STATE_ASLEEP ? 0 : vm_pid_);
  response->set_last_stop(last_stop_);
  if (agent_reachable_ || (state_ == pb::VM_STATE_ASLEEP && !info_.kernel_arch().empty())) {
    // A sleeping VM placed on: what it reported when it last ran.
    response->set_kernel_arch(info_.kernel_arch());
    for (const auto& t : info_.translators()) response->add_translators(t);
    *response->mutable_translator_probes() = info_.translator_probes();
    if (agent_reachable_) response->set_engine_version(info_.engine_version());
  } else if (state_ == pb::VM_STATE_ASLEEP) {
    // Never booted: what its driver expects, proven the same way.
    response->set_kernel_arch(expected_.kernel_arch);
    for (const agent::TranslatorProbe& p : expected_.probes) {
      if (p.ran) response->add_translators(p.handler);
      agent::ToProto(p, response->add_translator_probes());
    }
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::shared_ptr<agentpb::GuestAgent::StubInterface>> VmManagerService::ReachableAgent(
    const grpc::ServerContext& context, bool passive) {
  // A booting VM is a moment from serving (the usual case right after the
  // service set starts, or a VM manager restarts): wait for it, bounded,
  // rather than fail the request. A sleeping one is woken, and every caller
  // meanwhile waits for that one boot.
  absl::Time deadline = absl::Now() + options_.boot_wait;
  deadline = std::min(deadline, absl::FromChrono(context.deadline()));
  absl::MutexLock lock(&mu_);
  auto settled = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return (state_ != pb::VM_STATE_BOOTING && state_ != pb::VM_STATE_STOPPING) || stopping_;
  };
  for (int round = 0; round < 2; ++round) {
    if (passive && state_ == pb::VM_STATE_STOPPING) {
      // Going to sleep: once it sleeps, its record answers the read.
      mu_.AwaitWithDeadline(absl::Condition(&settled), deadline);
    }
    if (state_ == pb::VM_STATE_ASLEEP || state_ == pb::VM_STATE_STOPPING) {
      if (passive) {
        return absl::UnavailableError(absl::StrCat("backend ", spec_.backend, " is asleep: ", last_stop_));
      }
      if (state_ == pb::VM_STATE_ASLEEP) {
        spdlog::info("vmm[{}] waking the VM for a call", spec_.backend);
        wake_requested_ = true;
        state_ = pb::VM_STATE_BOOTING;
        error_ = "waking for a call";
      }
    }
    mu_.AwaitWithDeadline(absl::Condition(&settled), deadline);
    if (state_ != pb::VM_STATE_ASLEEP) break;  // it went to sleep while we waited: wake it
  }
  if (!agent_reachable_ || agent_ == nullptr) {
    std::string reason = error_.empty() ? absl::StrCat("VM is ", pb::VmState_Name(state_)) : error_;
    return absl::UnavailableError(absl::StrCat("backend ", spec_.backend, " is not running: ", reason));
  }
  return agent_;
}

grpc::Status VmManagerService::EngineExchange(grpc::ServerContext* context,
                                              const switchyard::types::v1::DockerRequest* request,
                                              switchyard::types::v1::DockerReply* reply) {
  if (auto answer = AsleepAnswer(request->method(), request->target())) {
    *reply = *std::move(answer);
    return grpc::Status::OK;
  }
  // Reads answered whole are the control plane's (lists, image lookups):
  // they neither wake the VM nor keep it up; only what a workload does.
  const bool read = request->method() == "GET" || request->method() == "HEAD";
  CallScope scope(*this, !read);
  auto agent = ReachableAgent(*context, /*passive=*/read);
  if (!agent.ok()) {
    // It fell asleep while the read waited: its record answers.
    if (auto answer = read ? AsleepAnswer(request->method(), request->target()) : std::nullopt) {
      *reply = *std::move(answer);
      return grpc::Status::OK;
    }
    return rpc::ToGrpc(agent.status());
  }
  // The caller's deadline and cancellation carry on to the agent.
  auto down_ctx = grpc::ClientContext::FromServerContext(*context);
  return (*agent)->EngineExchange(down_ctx.get(), *request, reply);
}

grpc::Status VmManagerService::EngineCall(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<switchyard::types::v1::EngineFrame, switchyard::types::v1::EngineFrame>* stream) {
  switchyard::types::v1::EngineFrame first;
  if (!stream->Read(&first)) return grpc::Status(grpc::StatusCode::CANCELLED, "caller sent no request");
  const auto& head = first.request();
  auto answer_asleep = [&]() {
    std::optional<switchyard::types::v1::DockerReply> answer = AsleepAnswer(head.method(), head.target());
    if (!answer) return false;
    switchyard::types::v1::EngineFrame frame;
    auto* response = frame.mutable_response();
    response->set_status(answer->status());
    response->set_content_length(static_cast<int64_t>(answer->body().size()));
    *response->mutable_headers() = answer->headers();
    stream->Write(frame);
    frame.set_data(answer->body());
    stream->Write(frame);
    return true;
  };
  if (answer_asleep()) return grpc::Status::OK;
  CallScope scope(*this, !head.passive());
  auto reachable = ReachableAgent(*context, head.passive());
  if (!reachable.ok()) {
    // It fell asleep while the read waited: its record answers.
    if (head.passive() && answer_asleep()) return grpc::Status::OK;
    return rpc::ToGrpc(reachable.status());
  }
  auto agent = *std::move(reachable);
  grpc::ClientContext down_ctx;
  auto down = agent->EngineCall(&down_ctx);
  return relay::RelayEngineCall(*context, *stream, first, down_ctx, *down);
}

}  // namespace switchyard::vmm
