#include "services/scheduler/backend_client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/rpc/status_grpc.h"
#include "libs/rpc/unix_channel.h"
#include "switchyard/vmm/v1/vmm.grpc.pb.h"

namespace switchyard::scheduler {
namespace {

using switchyard::vmm::v1::VmManager;

class VmmBackendClient : public BackendClient {
 public:
  VmmBackendClient(std::string name, std::string socket)
      : name_(std::move(name)), stub_(VmManager::NewStub(rpc::UnixChannel(socket))) {}

  const std::string& name() const override { return name_; }

  absl::StatusOr<EngineReply> Call(absl::string_view method, absl::string_view target,
                                   absl::string_view body) override {
    grpc::ClientContext context;
    rpc::SetTimeout(context, absl::Seconds(60));
    switchyard::types::v1::DockerRequest request;
    request.set_method(std::string(method));
    request.set_target(std::string(target));
    if (!body.empty()) {
      auto* h = request.add_headers();
      h->set_name("Content-Type");
      h->set_value("application/json");
      request.set_body(std::string(body));
    }
    switchyard::types::v1::DockerReply answer;
    grpc::Status status = stub_->EngineExchange(&context, request, &answer);
    if (!status.ok()) return Named(rpc::FromGrpc(status));
    if (answer.status() == 0) return absl::UnavailableError(absl::StrCat("backend ", name_, " sent no answer"));
    EngineReply reply;
    reply.status = answer.status();
    for (const auto& h : answer.headers()) reply.headers.emplace_back(h.name(), h.value());
    reply.body = std::move(*answer.mutable_body());
    return reply;
  }

  std::unique_ptr<EngineStream> OpenStream(grpc::ClientContext& context) override {
    return stub_->EngineCall(&context);
  }

  absl::StatusOr<switchyard::vmm::v1::GetVmStatusResponse> GetVmStatus() override {
    grpc::ClientContext context;
    rpc::SetTimeout(context, absl::Seconds(2));
    switchyard::vmm::v1::GetVmStatusResponse response;
    grpc::Status status = stub_->GetVmStatus(&context, {}, &response);
    if (!status.ok()) return Named(rpc::FromGrpc(status));
    return response;
  }

  absl::StatusOr<switchyard::vmm::v1::SyncPortsResponse> SyncPorts(
      const switchyard::vmm::v1::SyncPortsRequest& request) override {
    grpc::ClientContext context;
    rpc::SetTimeout(context, absl::Seconds(5));
    switchyard::vmm::v1::SyncPortsResponse response;
    grpc::Status status = stub_->SyncPorts(&context, request, &response);
    if (!status.ok()) return Named(rpc::FromGrpc(status));
    return response;
  }

 private:
  absl::Status Named(const absl::Status& status) { return NameBackendFailure(name_, status); }

  std::string name_;
  std::unique_ptr<VmManager::Stub> stub_;
};

}  // namespace

absl::Status NameBackendFailure(absl::string_view backend, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnavailable &&
      !absl::StrContains(status.message(), absl::StrCat("backend ", backend))) {
    return absl::UnavailableError(absl::StrCat("backend ", backend, " is not reachable: ", status.message()));
  }
  return status;
}

std::unique_ptr<BackendClient> NewVmmBackendClient(std::string name, std::string vmm_socket) {
  return std::make_unique<VmmBackendClient>(std::move(name), std::move(vmm_socket));
}

}  // namespace switchyard::scheduler
