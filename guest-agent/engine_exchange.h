#pragma once

#include <grpcpp/grpcpp.h>

#include <cstddef>

#include "guest-agent/dockerd_pool.h"
#include "switchyard/types/v1/engine.pb.h"

namespace switchyard::agent {

// Answers larger than this are refused; callers stream those instead.
inline constexpr size_t kMaxExchangeBody = 64 << 20;

// Serves one EngineExchange: the whole request to the guest dockerd over a
// pooled connection, the whole answer back. UNAVAILABLE when dockerd cannot
// be reached.
grpc::Status ServeEngineExchange(grpc::ServerContext& context, const switchyard::types::v1::DockerRequest& request,
                                 switchyard::types::v1::DockerReply& reply, DockerdPool& pool);

}  // namespace switchyard::agent
