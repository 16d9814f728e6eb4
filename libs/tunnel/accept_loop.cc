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

void AcceptThread::Start(int listen_fd, std::string what, std::function<void(int)> accepted,
                         std::string unlink_path) {
  listen_fd_ = listen_fd;
  unlink_path_ = std::move(unlink_path);
  thread_ = std::thread([listen_fd, what = std::move(what), accepted = std::move(accepted)] {
    AcceptEach(listen_fd, what, accepted);
  });
}

void AcceptThread::Stop() {
  if (listen_fd_ < 0) return;
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  if (!unlink_path_.empty()) ::unlink(unlink_path_.c_str());
}

}  // namespace switchyard::tunnel
