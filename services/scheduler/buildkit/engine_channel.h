#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler::buildkit {

// A gRPC channel to one guest dockerd's BuildKit: its /grpc endpoint,
// upgraded to h2c, carried over the backend's engine stream and a socket
// pair. A channel made from a socket cannot reconnect: once the connection
// ends, a new one is dialled.
class EngineChannel {
 public:
  static absl::StatusOr<std::shared_ptr<EngineChannel>> Dial(BackendClient& backend);
  ~EngineChannel();

  grpc::GenericStub& stub() { return *stub_; }
  bool alive() const;

 private:
  EngineChannel() = default;

  grpc::ClientContext context_;
  std::unique_ptr<EngineStream> stream_;
  int fd_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::thread pump_;
  std::atomic<bool> pumping_{true};
};

// One live channel per backend, shared by every proxied call.
class EngineChannels {
 public:
  absl::StatusOr<std::shared_ptr<EngineChannel>> Get(BackendClient& backend);
  // Closes the channels no call has used for `idle`: an open connection is
  // activity that would keep a VM from its idle stop.
  void CloseIdle(absl::Duration idle);

 private:
  struct Held {
    std::shared_ptr<EngineChannel> channel;
    absl::Time last_used;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Held> channels_ ABSL_GUARDED_BY(mu_);
};

// gRPC's defaults refuse messages over 4 MiB; BuildKit's clients and
// servers allow 16 MiB and more (large definitions, logs, disk usage).
inline constexpr int kMaxMessageBytes = 128 << 20;

}  // namespace switchyard::scheduler::buildkit
