#pragma once

#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "services/gateway/http_connection.h"
#include "services/gateway/routes/routes.h"

namespace switchyard::gateway {

// The gateway's handlers of the route table's typed routes, by handler name.
const absl::flat_hash_map<absl::string_view, bool (*)(HttpConnection&, const Request&, SchedulerStub&)>&
TypedHandlers();

// Picks the route for a request from the route table: a typed scheduler call
// where the control plane must see the request, Forward for the rest, and
// dockerd's 404 for what dockerd does not serve. Returns false when the
// connection must close afterwards.
bool Dispatch(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);

// Serves one client connection until it closes or is hijacked.
void ServeConnection(Socket socket, SchedulerStub& scheduler);

}  // namespace switchyard::gateway
