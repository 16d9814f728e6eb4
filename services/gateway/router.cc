#include "services/gateway/router.h"

#include <spdlog/spdlog.h>

namespace switchyard::gateway {

bool Dispatch(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  const std::string& path = request.api.path;
  const std::string& method = request.method;
  if (path == "/_ping" && (method == "GET" || method == "HEAD")) return Ping(conn, request);
  if (method == "GET") {
    if (path == "/version") return Version(conn, request, scheduler);
    if (path == "/info") return Info(conn, request, scheduler);
    if (path == "/events") return Events(conn, request, scheduler);
    if (path == "/containers/json") return ListContainers(conn, request, scheduler);
    if (path == "/images/json") return ListImages(conn, request, scheduler);
  }
  if (method == "POST" && path == "/containers/create") return CreateContainer(conn, request, scheduler);
  return Forward(conn, request, scheduler);
}

void ServeConnection(Socket socket, SchedulerStub& scheduler) {
  HttpConnection conn(std::move(socket));
  Request request;
  while (conn.ReadRequest(request)) {
    spdlog::debug("{} {}", request.method, request.target);
    bool reusable = Dispatch(conn, request, scheduler);
    // A body the route did not read would be taken for the next request.
    if (!reusable || !request.keep_alive || !conn.ReadBody([](absl::string_view) { return true; })) break;
  }
  boost::system::error_code ec;
  conn.socket().shutdown(Socket::shutdown_both, ec);
}

}  // namespace switchyard::gateway
