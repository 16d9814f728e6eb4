#pragma once

#include <cstdio>
#include <functional>

#include "services/scheduler/buildkit/control_proxy.h"
#include "services/scheduler/scheduler_core.h"
#include "switchyard/scheduler/v1/scheduler.grpc.pb.h"

namespace switchyard::scheduler {

// The gRPC adapter over SchedulerCore: converts messages and maps errors.
class SchedulerService final : public switchyard::scheduler::v1::Scheduler::Service {
 public:
  SchedulerService(SchedulerCore& core, buildkit::ControlProxy& buildkit) : core_(core), buildkit_(buildkit) {}

  grpc::Status CreateContainer(grpc::ServerContext*, const v1::CreateContainerRequest*,
                               types::v1::DockerReply*) override;
  grpc::Status ListContainers(grpc::ServerContext*, const v1::ListRequest*, types::v1::DockerReply*) override;
  grpc::Status ListImages(grpc::ServerContext*, const v1::ListRequest*, types::v1::DockerReply*) override;
  grpc::Status GetSystemInfo(grpc::ServerContext*, const v1::GetSystemInfoRequest*,
                             types::v1::DockerReply*) override;
  grpc::Status GetVersion(grpc::ServerContext*, const v1::GetVersionRequest*, types::v1::DockerReply*) override;
  grpc::Status StreamEvents(grpc::ServerContext*, const v1::ListRequest*,
                            grpc::ServerWriter<types::v1::EngineFrame>*) override;
  grpc::Status Forward(grpc::ServerContext*,
                       grpc::ServerReaderWriter<types::v1::EngineFrame, types::v1::EngineFrame>*) override;
  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*, v1::GetStatusResponse*) override;
  grpc::Status ExplainContainer(grpc::ServerContext*, const v1::ExplainContainerRequest*,
                                v1::ExplainContainerResponse*) override;
  grpc::Status ExplainBuilds(grpc::ServerContext*, const v1::ExplainBuildsRequest*,
                             v1::ExplainBuildsResponse*) override;
  grpc::Status PinGroup(grpc::ServerContext*, const v1::PinGroupRequest*, v1::PinGroupResponse*) override;
  grpc::Status ListGroups(grpc::ServerContext*, const v1::ListGroupsRequest*, v1::ListGroupsResponse*) override;

 private:
  using ForwardStream = grpc::ServerReaderWriter<types::v1::EngineFrame, types::v1::EngineFrame>;
  // A body that must be read before it can be placed (an image archive, a
  // build context): spooled whole, placed by `place`, then sent there.
  grpc::Status SpoolAndPlace(grpc::ServerContext& context, ForwardStream& stream, const types::v1::EngineFrame& head,
                             const std::function<absl::StatusOr<BackendClient*>(std::FILE*)>& place,
                             const std::string* preface = nullptr);
  // buildx's /grpc: the upgraded connection served by the BuildKit proxy.
  grpc::Status ServeBuildkit(grpc::ServerContext& context, ForwardStream& stream);

  SchedulerCore& core_;
  buildkit::ControlProxy& buildkit_;
};

}  // namespace switchyard::scheduler
