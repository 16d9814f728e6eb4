#pragma once

#include "services/gateway/http_connection.h"
#include "switchyard/scheduler/v1/scheduler.grpc.pb.h"

namespace switchyard::gateway {

using SchedulerStub = switchyard::scheduler::v1::Scheduler::StubInterface;

// Each route answers one request on `conn`. It returns false when the
// connection must close (hijacked, broken, or its body left unread).
bool Ping(HttpConnection& conn, const Request& request);
bool Version(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);
bool Info(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);
bool Events(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);
bool CreateContainer(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);
bool ListContainers(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);
bool ListImages(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);
// The long tail: any other call, routed by the scheduler by the object its
// path names, hijacked when the engine upgrades the connection.
bool Forward(HttpConnection& conn, const Request& request, SchedulerStub& scheduler);

}  // namespace switchyard::gateway
