#include "libs/rpc/status_grpc.h"

#include <string>

#include "absl/strings/match.h"

namespace switchyard::rpc {

// absl::StatusCode and grpc::StatusCode share their numbering by design.
grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

bool IsTransportFailure(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
  // gRPC core's texts for a peer that is gone, refuses or resets.
  for (absl::string_view text : {"failed to connect to all addresses", "Socket closed", "Connection reset",
                                 "Broken pipe", "connection attempt timed out", "Connection refused"}) {
    if (absl::StrContains(status.error_message(), text)) return true;
  }
  return false;
}

}  // namespace switchyard::rpc
