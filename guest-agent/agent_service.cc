#include "guest-agent/agent_service.h"

#include "guest-agent/engine_exchange.h"
#include "guest-agent/engine_proxy.h"
#include "guest-agent/translator_probe_proto.h"
#include "libs/http/api_target.h"
#include "spdlog/spdlog.h"

namespace switchyard::agent {

namespace pb = switchyard::agent::v1;

pb::EngineState ToProto(EngineState state) {
  switch (state) {
    case EngineState::kStarting:
      return pb::ENGINE_STATE_STARTING;
    case EngineState::kRunning:
      return pb::ENGINE_STATE_RUNNING;
    case EngineState::kRestarting:
      return pb::ENGINE_STATE_RESTARTING;
    case EngineState::kFailed:
    case EngineState::kStopped:
      return pb::ENGINE_STATE_FAILED;
  }
  return pb::ENGINE_STATE_UNSPECIFIED;
}

grpc::Status AgentService::GetInfo(grpc::ServerContext*, const pb::GetInfoRequest*, pb::GetInfoResponse* response) {
  response->set_kernel_arch(capabilities_.kernel_arch);
  for (const auto& t : capabilities_.translators) response->add_translators(t);
  for (const TranslatorProbe& p : capabilities_.probes) ToProto(p, response->add_translator_probes());
  EngineStatus status = supervisor_->Status();
  response->set_engine_state(ToProto(status.state));
  response->set_engine_version(status.version);
  response->set_engine_error(status.state == EngineState::kStopped ? "dockerd stopped" : status.error);
  response->set_engine_restarts(status.restarts);
  return grpc::Status::OK;
}

grpc::Status AgentService::EngineCall(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<switchyard::types::v1::EngineFrame, switchyard::types::v1::EngineFrame>* stream) {
  return ServeEngineCall(*context, *stream, supervisor_->config().Socket());
}

grpc::Status AgentService::EngineExchange(grpc::ServerContext* context,
                                          const switchyard::types::v1::DockerRequest* request,
                                          switchyard::types::v1::DockerReply* reply) {
  if (request->method() == "POST" && http::ParseTarget(request->target()).path == "/containers/create") {
    // A failure is only logged: dockerd's own bind error then tells the user.
    const std::vector<std::string> ips = SpecificHostIps(nlohmann::json::parse(request->body(), nullptr, false));
    if (absl::Status owned = addresses_->Ensure(ips); !owned.ok()) {
      spdlog::warn("cannot make a published host address local to the guest: {}", std::string(owned.message()));
    }
  }
  return ServeEngineExchange(*context, *request, *reply, pool_);
}

}  // namespace switchyard::agent
