#include <grpcpp/grpcpp.h>

#include "services/gateway/frame_writer.h"
#include "services/gateway/routes/routes.h"

namespace switchyard::gateway {

namespace sv1 = switchyard::scheduler::v1;

bool Ping(HttpConnection& conn, const Request& request) {
  // The headers dockerd sends; the CLI negotiates its API version from them.
  http::HeaderList headers = {{"Api-Version", "1.41"},
                              {"Builder-Version", "1"},
                              {"Cache-Control", "no-cache, no-store, must-revalidate"},
                              {"Docker-Experimental", "false"},
                              {"Ostype", "linux"},
                              {"Pragma", "no-cache"},
                              {"Server", "Docker/20.10.24 (linux) switchyard"},
                              {"Content-Type", "text/plain; charset=utf-8"}};
  if (request.method == "HEAD") {
    conn.WriteWhole(200, headers, "");
  } else {
    conn.WriteWhole(200, headers, "OK");
  }
  return true;
}

bool Version(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  grpc::ClientContext context;
  sv1::GetVersionRequest rpc_request;
  rpc_request.set_api_version(request.api.api_version);
  types::v1::DockerReply reply;
  WriteReply(conn, scheduler.GetVersion(&context, rpc_request, &reply), reply);
  return true;
}

bool Info(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  grpc::ClientContext context;
  sv1::GetSystemInfoRequest rpc_request;
  rpc_request.set_api_version(request.api.api_version);
  types::v1::DockerReply reply;
  WriteReply(conn, scheduler.GetSystemInfo(&context, rpc_request, &reply), reply);
  return true;
}

bool Events(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  grpc::ClientContext context;
  sv1::ListRequest rpc_request;
  rpc_request.set_api_version(request.api.api_version);
  rpc_request.set_query(request.api.query);
  auto reader = scheduler.StreamEvents(&context, rpc_request);
  EngineFrame head;
  if (!reader->Read(&head) || !head.has_response()) {
    WriteGrpcError(conn, reader->Finish());
    return true;
  }
  return CopyStreamedResponse(
      conn, context, head, [&](EngineFrame& frame) { return reader->Read(&frame); },
      [&] { return reader->Finish(); });
}

}  // namespace switchyard::gateway
