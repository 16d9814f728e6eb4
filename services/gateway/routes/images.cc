#include <grpcpp/grpcpp.h>

#include "services/gateway/frame_writer.h"
#include "services/gateway/routes/routes.h"

namespace switchyard::gateway {

namespace sv1 = switchyard::scheduler::v1;

bool ListImages(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  sv1::ListRequest rpc_request;
  rpc_request.set_api_version(request.api.api_version);
  rpc_request.set_query(request.api.query);
  grpc::ClientContext context;
  types::v1::DockerReply reply;
  WriteReply(conn, scheduler.ListImages(&context, rpc_request, &reply), reply);
  return true;
}

}  // namespace switchyard::gateway
