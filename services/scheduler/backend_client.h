#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/http/http_codec.h"
#include "switchyard/types/v1/engine.pb.h"
#include "switchyard/vmm/v1/vmm.grpc.pb.h"

namespace switchyard::scheduler {

using EngineFrame = switchyard::types::v1::EngineFrame;
using EngineStream = grpc::ClientReaderWriterInterface<EngineFrame, EngineFrame>;

// A whole answer of a guest dockerd.
struct EngineReply {
  int status = 0;
  http::HeaderList headers;
  std::string body;
};

// One backend (VM) as the scheduler sees it: engine calls through its VM
// manager. An interface so that the routing logic is tested with a fake.
class BackendClient {
 public:
  virtual ~BackendClient() = default;
  virtual const std::string& name() const = 0;
  // A small call answered whole (create, inspect, list). UNAVAILABLE names
  // the backend when its VM or engine is down.
  virtual absl::StatusOr<EngineReply> Call(absl::string_view method, absl::string_view target,
                                           absl::string_view body = "") = 0;
  // A streamed call; the caller writes the request head first.
  virtual std::unique_ptr<EngineStream> OpenStream(grpc::ClientContext& context) = 0;
  virtual absl::StatusOr<switchyard::vmm::v1::GetVmStatusResponse> GetVmStatus() = 0;
  // Hands the VM manager the whole set of host listeners its VM should have.
  virtual absl::StatusOr<switchyard::vmm::v1::SyncPortsResponse> SyncPorts(
      const switchyard::vmm::v1::SyncPortsRequest& request) = 0;
};

// An UNAVAILABLE from a backend's channel, named: "backend vz is not
// reachable: Socket closed" rather than the bare transport text.
absl::Status NameBackendFailure(absl::string_view backend, const absl::Status& status);

std::unique_ptr<BackendClient> NewVmmBackendClient(std::string name, std::string vmm_socket);

}  // namespace switchyard::scheduler
