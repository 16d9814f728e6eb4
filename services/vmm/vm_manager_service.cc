#include "services/vmm/vm_manager_service.h"

#include "libs/tunnel/handoff.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
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
  if (!adopt || !driver_->Adopt(spec_)) {
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

std::string VmManagerService::Watch() {
  int misses = 0;
  while (SleepUnlessStopping(options_.poll_interval)) {
    if (!driver_->IsRunning()) {
      return absl::StrCat("VM ", spec_.backend, " stopped unexpectedly: ", driver_->ExitReason());
    }
    std::string error;
    if (Poll(absl::Seconds(3), &error)) {
      misses = 0;
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
  for (bool first = true;; first = false) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    if (BootOnce(/*adopt=*/first)) {
      failures = 0;
      const std::string stopped = Watch();
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
  response->set_state(state_);
  response->set_error(error_);
  response->set_vm_pid(state_ == pb::VM_STATE_STOPPED ? 0 : vm_pid_);
  if (agent_reachable_) {
    response->set_kernel_arch(info_.kernel_arch());
    for (const auto& t : info_.translators()) response->add_translators(t);
    response->set_engine_version(info_.engine_version());
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::shared_ptr<agentpb::GuestAgent::StubInterface>> VmManagerService::ReachableAgent(
    const grpc::ServerContext& context) {
  // A booting VM is a moment from serving (the usual case right after the
  // service set starts, or a VM manager restarts): wait for it, bounded,
  // rather than fail the request.
  absl::Time deadline = absl::Now() + options_.boot_wait;
  deadline = std::min(deadline, absl::FromChrono(context.deadline()));
  absl::MutexLock lock(&mu_);
  auto settled = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return state_ != pb::VM_STATE_BOOTING || stopping_; };
  mu_.AwaitWithDeadline(absl::Condition(&settled), deadline);
  if (!agent_reachable_ || agent_ == nullptr) {
    std::string reason = error_.empty() ? absl::StrCat("VM is ", pb::VmState_Name(state_)) : error_;
    return absl::UnavailableError(absl::StrCat("backend ", spec_.backend, " is not running: ", reason));
  }
  return agent_;
}

grpc::Status VmManagerService::EngineExchange(grpc::ServerContext* context,
                                              const switchyard::types::v1::DockerRequest* request,
                                              switchyard::types::v1::DockerReply* reply) {
  auto agent = ReachableAgent(*context);
  if (!agent.ok()) return rpc::ToGrpc(agent.status());
  // The caller's deadline and cancellation carry on to the agent.
  auto down_ctx = grpc::ClientContext::FromServerContext(*context);
  return (*agent)->EngineExchange(down_ctx.get(), *request, reply);
}

grpc::Status VmManagerService::EngineCall(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<switchyard::types::v1::EngineFrame, switchyard::types::v1::EngineFrame>* stream) {
  auto reachable = ReachableAgent(*context);
  if (!reachable.ok()) return rpc::ToGrpc(reachable.status());
  auto agent = *std::move(reachable);
  switchyard::types::v1::EngineFrame first;
  if (!stream->Read(&first)) return grpc::Status(grpc::StatusCode::CANCELLED, "caller sent no request");
  grpc::ClientContext down_ctx;
  auto down = agent->EngineCall(&down_ctx);
  return relay::RelayEngineCall(*context, *stream, first, down_ctx, *down);
}

}  // namespace switchyard::vmm
