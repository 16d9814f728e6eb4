#include "libs/tunnel/accept_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "libs/tunnel/sockets.h"
#include "spdlog/spdlog.h"

namespace switchyard::tunnel {

void AcceptEach(int listen_fd, absl::string_view what, const std::function<void(int)>& accepted) {
  while (true) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: back off rather than spin; connections will end.
        spdlog::warn("{}: accept: {}", std::string(what), ErrnoText(errno));
        ::usleep(100 * 1000);
        continue;
      }
      return;  // the listener was shut down
    }
    accepted(fd);
  }
}

}  // namespace switchyard::tunnel
