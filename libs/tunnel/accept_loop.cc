#include "libs/tunnel/accept_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "libs/tunnel/sockets.h"
#include "spdlog/spdlog.h"

namespace switchyard::tunnel {

Accepted AcceptOnce(int listen_fd, absl::string_view what) {
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) return {fd, false};
  if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) return {};
  if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
    // Out of descriptors: back off rather than spin; connections will end.
    spdlog::warn("{}: accept: {}", std::string(what), ErrnoText(errno));
    ::usleep(100 * 1000);
    return {};
  }
  return {-1, true};
}

void AcceptEach(int listen_fd, absl::string_view what, const std::function<void(int)>& accepted) {
  while (true) {
    Accepted next = AcceptOnce(listen_fd, what);
    if (next.closed) return;
    if (next.fd >= 0) accepted(next.fd);
  }
}

}  // namespace switchyard::tunnel
