#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/sync_stream.h>

#include <string>

#include "switchyard/types/v1/engine.pb.h"

namespace switchyard::agent {

using EngineStream =
    grpc::ServerReaderWriter<switchyard::types::v1::EngineFrame, switchyard::types::v1::EngineFrame>;

// Serves one EngineCall: reads the request head and body frames from
// `stream`, performs the HTTP call on the guest dockerd's Unix socket at
// `docker_socket`, and streams the response (or, for a hijacked call, raw
// bytes both ways) back. Returns UNAVAILABLE when dockerd cannot be reached.
grpc::Status ServeEngineCall(grpc::ServerContext& context, EngineStream& stream,
                             const std::string& docker_socket);

// The request line and headers dockerd gets for `head` (hop-by-hop headers
// replaced by our own framing).
std::string EncodeDockerdRequestHead(const switchyard::types::v1::EngineRequestHead& head);

}  // namespace switchyard::agent
