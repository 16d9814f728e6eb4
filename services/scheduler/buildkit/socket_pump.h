#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "switchyard/types/v1/engine.pb.h"

namespace switchyard::scheduler::buildkit {

// The two ends an upgraded engine connection is carried over: ours, which
// PumpFrames reads and writes, and gRPC's, non-blocking because gRPC polls
// it. Both close on exec.
struct SocketPair {
  int ours = -1;
  int grpcs = -1;
};
inline std::optional<SocketPair> MakeSocketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return std::nullopt;
  ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
  return SocketPair{fds[0], fds[1]};
}

// Carries an upgraded engine connection (its data frames) to and from one
// end of a socket pair, whose other end gRPC serves or dials. Returns when
// both directions have ended. When the stream ends first the socket is shut
// down, so gRPC sees the peer go; when gRPC closes its end first, `cancel`
// ends the stream. `fd` stays open for the caller to close.
template <typename Stream>
void PumpFrames(Stream& stream, int fd, const std::function<void()>& cancel) {
  std::thread to_socket([&] {
    switchyard::types::v1::EngineFrame frame;
    while (stream.Read(&frame)) {
      if (!frame.has_data()) continue;
      const std::string& data = frame.data();
      size_t off = 0;
      while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      if (off < data.size()) break;
    }
    ::shutdown(fd, SHUT_RDWR);
  });
  std::string buffer(64 * 1024, '\0');
  switchyard::types::v1::EngineFrame frame;
  for (;;) {
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    frame.set_data(buffer.data(), static_cast<size_t>(n));
    if (!stream.Write(frame)) break;
  }
  cancel();
  to_socket.join();
}

}  // namespace switchyard::scheduler::buildkit
