#include "services/gateway/router.h"

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "libs/api_routes/route_table.h"

namespace switchyard::gateway {
namespace {

using TypedHandler = bool (*)(HttpConnection&, const Request&, SchedulerStub&);

bool PingHandler(HttpConnection& conn, const Request& request, SchedulerStub&) { return Ping(conn, request); }

}  // namespace

const absl::flat_hash_map<absl::string_view, TypedHandler>& TypedHandlers() {
  static const auto* handlers = new absl::flat_hash_map<absl::string_view, TypedHandler>{
      {"Ping", PingHandler},
      {"Version", Version},
      {"Info", Info},
      {"Events", Events},
      {"ContainerList", ListContainers},
      {"ContainerCreate", CreateContainer},
      {"ImageList", ListImages},
  };
  return *handlers;
}

bool Dispatch(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  absl::StatusOr<api_routes::RouteMatch> match = api_routes::ApiRoutes().Match(request.method, request.api.segments);
  if (!match.ok()) {
    conn.WriteError(match.status());  // dockerd's 404 "page not found"
    return true;
  }
  if (match->entry->routing == api_routes::Routing::kTyped) {
    auto handler = TypedHandlers().find(match->entry->handler);
    if (handler != TypedHandlers().end()) return handler->second(conn, request, scheduler);
    spdlog::error("route {} {} is typed but the gateway has no handler {}", request.method, request.api.path,
                  std::string(match->entry->handler));
  }
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
