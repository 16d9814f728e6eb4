#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace switchyard::rpc {

// The one mapping between our error vocabulary and gRPC's, both ways, so a
// NotFound raised in the scheduler is still a NotFound in the gateway.
grpc::Status ToGrpc(const absl::Status& status);
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace switchyard::rpc
