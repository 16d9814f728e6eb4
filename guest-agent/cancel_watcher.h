#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace switchyard::agent {

// One thread for the whole agent that shuts down the dockerd connection of
// every call whose caller has gone away, so a blocked read (logs -f, events,
// wait) ends with the caller. The sync gRPC API has no cancellation callback,
// so calls are polled; sharing one poller keeps a thread spawn off every call.
class CancelWatcher {
 public:
  static CancelWatcher& Instance();

  // While the returned guard lives, `fd` is shut down once `context` is cancelled.
  class Guard {
   public:
    Guard(CancelWatcher& watcher, uint64_t id) : watcher_(watcher), id_(id) {}
    ~Guard() { watcher_.Remove(id_); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    CancelWatcher& watcher_;
    uint64_t id_;
  };
  Guard Watch(grpc::ServerContext& context, int fd);

 private:
  struct Entry {
    grpc::ServerContext* context;
    int fd;
  };
  CancelWatcher();
  void Remove(uint64_t id);
  void Run();

  absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace switchyard::agent
