#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace switchyard::rpc {

// A channel to a gRPC server on a Unix socket. Reconnects by itself when the
// peer restarts; callers set per-call deadlines.
std::shared_ptr<grpc::Channel> UnixChannel(absl::string_view socket_path);

// A channel over an already-connected file descriptor (a vsock or VZ socket
// device connection, or a Unix socket in the sandbox).
std::shared_ptr<grpc::Channel> FdChannel(int fd);

// Applies a deadline `timeout` from now to `context`.
void SetTimeout(grpc::ClientContext& context, absl::Duration timeout);

}  // namespace switchyard::rpc
