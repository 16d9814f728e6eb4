#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>

#include "services/gateway/http_connection.h"
#include "switchyard/types/v1/engine.pb.h"

namespace switchyard::gateway {

using types::v1::EngineFrame;

// Writes a whole scheduler reply, or the Docker error for a failed call.
void WriteReply(HttpConnection& conn, const grpc::Status& status, const types::v1::DockerReply& reply);

// Maps a failed call to the Docker error a client expects.
void WriteGrpcError(HttpConnection& conn, const grpc::Status& status);

// Copies a streamed answer (a response head then data frames) to the client
// with the framing its head asks for. `read` returns false at the end. While
// it streams, a client that hangs up cancels `context`, so the call ends at
// every hop. `finish` gives the call's final status: a stream that broke is
// not terminated cleanly. Returns false when the connection cannot be reused.
bool CopyStreamedResponse(HttpConnection& conn, grpc::ClientContext& context, const EngineFrame& head,
                          const std::function<bool(EngineFrame&)>& read,
                          const std::function<grpc::Status()>& finish);

}  // namespace switchyard::gateway
