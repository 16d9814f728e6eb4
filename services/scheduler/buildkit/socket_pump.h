#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <thread>

#include "switchyard/types/v1/engine.pb.h"

namespace switchyard::scheduler::buildkit {

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
