#pragma once

#include <string>

#include "guest-agent/capabilities.h"
#include "guest-agent/dockerd_pool.h"
#include "guest-agent/dockerd_supervisor.h"
#include "guest-agent/published_addresses.h"
#include "switchyard/agent/v1/agent.grpc.pb.h"

namespace switchyard::agent {

// Maps the supervisor's engine state to the wire enum.
switchyard::agent::v1::EngineState ToProto(EngineState state);

// The GuestAgent gRPC adapter: capabilities and engine status from their
// owners, engine calls relayed to the guest dockerd's local socket. A
// container create first makes the host IPs it publishes on local to the
// guest, so that dockerd can bind them.
class AgentService final : public switchyard::agent::v1::GuestAgent::Service {
 public:
  AgentService(Capabilities capabilities, const DockerdSupervisor* supervisor, PublishedAddresses* addresses)
      : capabilities_(std::move(capabilities)),
        supervisor_(supervisor),
        addresses_(addresses),
        pool_(supervisor->config().Socket()) {}

  grpc::Status GetInfo(grpc::ServerContext* context, const switchyard::agent::v1::GetInfoRequest* request,
                       switchyard::agent::v1::GetInfoResponse* response) override;
  grpc::Status EngineCall(grpc::ServerContext* context,
                          grpc::ServerReaderWriter<switchyard::types::v1::EngineFrame,
                                                   switchyard::types::v1::EngineFrame>* stream) override;
  grpc::Status EngineExchange(grpc::ServerContext* context, const switchyard::types::v1::DockerRequest* request,
                              switchyard::types::v1::DockerReply* reply) override;

 private:
  const Capabilities capabilities_;
  const DockerdSupervisor* supervisor_;
  PublishedAddresses* addresses_;
  DockerdPool pool_;
};

}  // namespace switchyard::agent
