#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/sync_stream.h>

#include "absl/time/time.h"

#include "switchyard/types/v1/engine.pb.h"

namespace switchyard::relay {

using Frame = switchyard::types::v1::EngineFrame;
using ServerStream = grpc::ServerReaderWriter<Frame, Frame>;
using ClientStream = grpc::ClientReaderWriterInterface<Frame, Frame>;

// Relays one engine call between the stream we serve (`up`) and the stream we
// opened to the next hop (`down`): `first` (the request head, already read
// from `up` to route the call) goes down first, then frames flow both ways
// until each direction ends. A cancelled caller cancels the next hop, so no
// stream outlives its client. Returns the next hop's final status, also when
// the next hop fails before the caller has finished sending: the caller gets
// `half_close_grace` to half-close before its call is cancelled.
// `preface`, if any, is sent to the caller as the first body bytes of a
// streamed 200 answer (a build's first progress line).
grpc::Status RelayEngineCall(grpc::ServerContext& up_ctx, ServerStream& up, const Frame& first,
                             grpc::ClientContext& down_ctx, ClientStream& down,
                             absl::Duration half_close_grace = absl::Seconds(5), const std::string& preface = "");

// True for the head of a streamed 200 answer, which a preface may precede.
bool TakesPreface(const Frame& frame);

}  // namespace switchyard::relay
