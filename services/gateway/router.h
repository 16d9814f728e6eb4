#pragma once

#include "services/gateway/http_connection.h"
#include "services/gateway/routes/routes.h"

namespace switchyard::gateway {

// Picks the route for a request: the typed scheduler calls where the control
// plane must see the request, Forward for the rest. Returns false when the
// connection must close afterwards.
bool Dispatch(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);

// Serves one client connection until it closes or is hijacked.
void ServeConnection(Socket socket, SchedulerStub& scheduler);

}  // namespace switchyard::gateway
