#include "guest-agent/dockerd_pool.h"

#include <poll.h>

#include "absl/strings/str_cat.h"

namespace switchyard::agent {
namespace {

// An idle keep-alive connection is usable while it has nothing to read: any
// readable event means dockerd closed it (or sent stray bytes).
bool StillOpen(DockerdPool::Socket& socket) {
  pollfd p{socket.native_handle(), POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace

absl::StatusOr<DockerdPool::Socket> DockerdPool::Connect() {
  Socket socket(io_);
  boost::system::error_code ec;
  socket.connect(boost::asio::local::stream_protocol::endpoint(socket_path_), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("guest dockerd is not answering: ", ec.message()));
  return socket;
}

absl::StatusOr<DockerdPool::Socket> DockerdPool::Acquire(bool& reused) {
  {
    absl::MutexLock lock(&mu_);
    while (!idle_.empty()) {
      Socket socket = std::move(idle_.back());
      idle_.pop_back();
      if (StillOpen(socket)) {
        reused = true;
        return socket;
      }
    }
  }
  reused = false;
  return Connect();
}

void DockerdPool::Release(Socket socket) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(socket));
}

}  // namespace switchyard::agent
