#include "libs/tunnel/connection_tracker.h"

#include <sys/socket.h>
#include <unistd.h>

#include "libs/tunnel/stream_pump.h"

namespace switchyard::tunnel {

bool ConnectionTracker::Spawn(std::function<void()> body) { return threads_.Spawn(std::move(body)); }

void ConnectionTracker::ServeAndClose(int fd, std::function<void(int)> serve) {
  Watch(fd);
  bool spawned = Spawn([this, fd, serve = std::move(serve)] {
    serve(fd);
    Unwatch(fd);
    ::close(fd);
  });
  if (!spawned) {
    Unwatch(fd);
    ::close(fd);
  }
}

void ConnectionTracker::PumpAndClose(int client, int peer) {
  Watch(peer);
  (void)PumpBoth(client, peer);
  Unwatch(peer);
  ::close(peer);
}

void ConnectionTracker::Watch(int fd) {
  absl::MutexLock lock(&mu_);
  fds_.insert(fd);
  if (stopping_) ::shutdown(fd, SHUT_RDWR);
}

void ConnectionTracker::Unwatch(int fd) {
  absl::MutexLock lock(&mu_);
  fds_.erase(fd);
}

void ConnectionTracker::StopAll() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  // Queued bodies still run (their sockets are shut down as they watch
  // them): each owns a descriptor it must close.
  threads_.StopAll();
}

}  // namespace switchyard::tunnel
