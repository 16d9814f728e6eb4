#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "libs/http/docker_error.h"
#include "services/gateway/frame_writer.h"
#include "services/gateway/routes/routes.h"

namespace switchyard::gateway {

namespace sv1 = switchyard::scheduler::v1;

constexpr size_t kMaxJsonBody = 16 << 20;

bool CreateContainer(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  sv1::CreateContainerRequest rpc_request;
  std::string body;
  if (!conn.ReadWholeBody(body, kMaxJsonBody)) {
    if (body.size() > kMaxJsonBody) {
      conn.WriteWhole(413, {{"Content-Type", "application/json"}},
                      http::ErrorBody(absl::StrCat("request body is larger than ", kMaxJsonBody,
                                                   " bytes, the limit for a container create")));
    } else {
      conn.WriteError(absl::InvalidArgumentError("request body ended before its declared length"));
    }
    return false;
  }
  rpc_request.set_api_version(request.api.api_version);
  rpc_request.set_name(http::QueryValue(request.api.query, "name").value_or(""));
  rpc_request.set_platform(http::QueryValue(request.api.query, "platform").value_or(""));
  rpc_request.set_body(std::move(body));
  grpc::ClientContext context;
  types::v1::DockerReply reply;
  WriteReply(conn, scheduler.CreateContainer(&context, rpc_request, &reply), reply);
  return true;
}

bool ListContainers(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  sv1::ListRequest rpc_request;
  rpc_request.set_api_version(request.api.api_version);
  rpc_request.set_query(request.api.query);
  grpc::ClientContext context;
  types::v1::DockerReply reply;
  WriteReply(conn, scheduler.ListContainers(&context, rpc_request, &reply), reply);
  return true;
}

}  // namespace switchyard::gateway
