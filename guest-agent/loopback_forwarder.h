#pragma once

#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/tunnel/accept_loop.h"
#include "libs/tunnel/connection_tracker.h"

namespace switchyard::agent {

// Parses "5000,5001" into ports; empty gives none.
absl::StatusOr<std::vector<int>> ParsePorts(absl::string_view list);

// Makes selected host-loopback TCP ports appear on the guest's own loopback:
// listens on 127.0.0.1:P in the guest and forwards each connection to
// `target_host`:P (10.0.2.2 is the host's 127.0.0.1 through slirp4netns).
// This is how the guest dockerd reaches a registry on the host's loopback.
class LoopbackForwarder {
 public:
  explicit LoopbackForwarder(std::string target_host = "10.0.2.2") : target_host_(std::move(target_host)) {}
  ~LoopbackForwarder();

  // Binds every port; fails if one cannot be bound.
  absl::Status Start(const std::vector<int>& ports);
  // Closes the listeners, ends live connections and waits for their threads.
  void Stop();

 private:
  void Forward(int client, int port);

  const std::string target_host_;
  tunnel::ConnectionTracker live_;
  std::deque<tunnel::AcceptThread> acceptors_;  // one per port; stopped before the tracker goes
};

}  // namespace switchyard::agent
