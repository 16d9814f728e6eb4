#pragma once

#include <boost/asio.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace switchyard::agent {

// Keep-alive connections to the guest dockerd for bounded exchanges: a list
// or inspect then costs one request on an open socket, not a connect and a
// fresh dockerd connection each time.
class DockerdPool {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  explicit DockerdPool(std::string socket_path, size_t max_idle = 8)
      : socket_path_(std::move(socket_path)), max_idle_(max_idle) {}

  // An idle connection that dockerd has not closed, else a new one.
  // `reused` says which, so a caller may retry a failed reuse once.
  absl::StatusOr<Socket> Acquire(bool& reused);
  absl::StatusOr<Socket> Connect();
  // Returns a connection whose last response left it reusable.
  void Release(Socket socket);

 private:
  const std::string socket_path_;
  const size_t max_idle_;
  boost::asio::io_context io_;  // sockets only; sync operations never run it
  absl::Mutex mu_;
  std::vector<Socket> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::agent
