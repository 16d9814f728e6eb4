#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchyard::rpc {

// Builds a gRPC server listening on a Unix socket (mode 0600), with the
// standard health service and server reflection registered, as every
// switchyard service must have them.
absl::StatusOr<std::unique_ptr<grpc::Server>> StartUnixServer(
    absl::string_view socket_path, const std::vector<grpc::Service*>& services);

// Marks the server's overall health SERVING / NOT_SERVING.
void SetServing(grpc::Server& server, bool serving);

}  // namespace switchyard::rpc
