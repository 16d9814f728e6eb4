#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"

#include "services/scheduler/buildkit/blocking_calls.h"
#include "services/scheduler/buildkit/build_refs.h"
#include "services/scheduler/buildkit/engine_channel.h"
#include "services/scheduler/scheduler_core.h"

namespace switchyard::scheduler::buildkit {

// BuildKit's API as buildx's docker driver reaches it (POST /grpc, upgraded
// to h2c), served over both VMs per call rather than per connection:
// ListWorkers and DiskUsage answered by every VM, Prune run in every VM, a
// Solve sent to the VM that runs its platform, and the build's Status and
// gateway calls to the VM running that build. Calls pass through as bytes;
// only the fields that route them are read (buildkit_wire.proto).
class ControlProxy {
 public:
  explicit ControlProxy(SchedulerCore& core);
  ~ControlProxy();

  // Serves one client connection on `fd`; gRPC owns the fd from here.
  void Serve(int fd);

 private:
  class Service : public grpc::CallbackGenericService {
   public:
    explicit Service(ControlProxy& proxy) : proxy_(proxy) {}
    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

   private:
    ControlProxy& proxy_;
  };

  void Handle(ServerCall& call);
  void Solve(ServerCall& call, const grpc::ByteBuffer& request);
  void Status(ServerCall& call, const grpc::ByteBuffer& request);
  void MergeUnary(ServerCall& call, const grpc::ByteBuffer& request);
  void MergeStream(ServerCall& call, const grpc::ByteBuffer& request);
  // Passes the call to `backend` and its answer back; `first` is the
  // request message already read to route it, `note` a progress message
  // sent ahead of the answer.
  void Relay(ServerCall& call, BackendClient& backend, const std::optional<grpc::ByteBuffer>& first,
             const std::string& note = "");
  BackendClient& Native() const { return *core_.backends().front(); }

  // ListWorkers and DiskUsage read; they leave a sleeping VM asleep.
  bool Asleep(BackendClient& backend) const;

  SchedulerCore& core_;
  EngineChannels channels_;
  absl::Notification stopping_;
  std::thread janitor_;  // closes channels left idle
  BuildRefs refs_;
  Service service_{*this};
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace switchyard::scheduler::buildkit
