#include "services/scheduler/buildkit/engine_channel.h"

#include <climits>

#include <grpcpp/create_channel_posix.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "libs/rpc/status_grpc.h"
#include "services/scheduler/buildkit/socket_pump.h"

namespace switchyard::scheduler::buildkit {

absl::StatusOr<std::shared_ptr<EngineChannel>> EngineChannel::Dial(BackendClient& backend) {
  std::shared_ptr<EngineChannel> channel(new EngineChannel());
  channel->stream_ = backend.OpenStream(channel->context_);
  EngineFrame head;
  auto* request = head.mutable_request();
  request->set_method("POST");
  request->set_target("/grpc");
  request->set_upgrade(true);
  request->set_upgrade_protocol("h2c");
  EngineFrame answer;
  if (!channel->stream_->Write(head) || !channel->stream_->Read(&answer) || !answer.has_response()) {
    channel->context_.TryCancel();
    absl::Status status = rpc::FromGrpc(channel->stream_->Finish());
    if (status.ok()) status = absl::UnavailableError("the engine closed the connection");
    return NameBackendFailure(backend.name(), status);
  }
  if (!answer.response().hijacked()) {
    channel->context_.TryCancel();
    channel->stream_->Finish();
    return absl::UnavailableError(absl::StrCat("backend ", backend.name(),
                                               ": its engine does not serve BuildKit's API (/grpc answered ",
                                               answer.response().status(), ")"));
  }
  std::optional<SocketPair> pair = MakeSocketPair();
  if (!pair) {
    channel->context_.TryCancel();
    channel->stream_->Finish();
    return absl::InternalError("socketpair failed");
  }
  channel->fd_ = pair->ours;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // No pings: gRPC C++ probes bandwidth with pings as data arrives, and the
  // guest's Go server counts pings more often than every 5 minutes as
  // strikes, then closes the connection with GOAWAY ("too_many_pings"), which
  // failed the next build on it (seen once in CI: "Unavailable: GOAWAY
  // received"). A socket pair to the guest has no bandwidth to probe.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, INT_MAX);
  channel->channel_ = grpc::CreateCustomInsecureChannelFromFd(absl::StrCat("buildkit.", backend.name()), pair->grpcs, args);
  channel->stub_ = std::make_unique<grpc::GenericStub>(channel->channel_);
  EngineChannel* raw = channel.get();
  const std::string name = backend.name();
  channel->pump_ = std::thread([raw, name] {
    PumpFrames(*raw->stream_, raw->fd_, [raw] { raw->stream_->WritesDone(); raw->context_.TryCancel(); });
    raw->pumping_ = false;
    spdlog::info("backend={} BuildKit connection ended", name);
  });
  spdlog::info("backend={} BuildKit connection open", backend.name());
  return channel;
}

EngineChannel::~EngineChannel() {
  // The channel goes first: it closes its end of the pair, which ends the pump.
  stub_.reset();
  channel_.reset();
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  context_.TryCancel();
  if (pump_.joinable()) pump_.join();
  if (stream_) stream_->Finish();
  if (fd_ >= 0) ::close(fd_);
}

// A channel over a socket has no connectivity state to ask (it is not a
// client channel); the pump ends when either side of the connection does.
bool EngineChannel::alive() const { return pumping_.load(); }

absl::StatusOr<std::shared_ptr<EngineChannel>> EngineChannels::Get(BackendClient& backend) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(backend.name());
  if (it != channels_.end() && it->second.channel->alive()) {
    it->second.last_used = absl::Now();
    return it->second.channel;
  }
  absl::StatusOr<std::shared_ptr<EngineChannel>> dialled = EngineChannel::Dial(backend);
  if (!dialled.ok()) return dialled.status();
  channels_[backend.name()] = Held{*dialled, absl::Now()};
  return *dialled;
}

void EngineChannels::CloseIdle(absl::Duration idle) {
  std::vector<std::shared_ptr<EngineChannel>> closing;  // destroyed outside the lock
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    for (auto it = channels_.begin(); it != channels_.end();) {
      // A call in flight holds its own reference.
      const bool in_use = it->second.channel.use_count() > 1;
      if (!in_use && (now - it->second.last_used >= idle || !it->second.channel->alive())) {
        closing.push_back(std::move(it->second.channel));
        channels_.erase(it++);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace switchyard::scheduler::buildkit
