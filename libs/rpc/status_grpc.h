#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace switchyard::rpc {

// The one mapping between our error vocabulary and gRPC's, both ways, so a
// NotFound raised in the scheduler is still a NotFound in the gateway.
grpc::Status ToGrpc(const absl::Status& status);
absl::Status FromGrpc(const grpc::Status& status);

// True when a call failed because its peer could not be reached or went away
// mid-call (gRPC's own transport errors), not because the peer answered so.
bool IsTransportFailure(const grpc::Status& status);

}  // namespace switchyard::rpc
