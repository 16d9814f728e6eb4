#include "libs/tunnel/datagram_relay.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <vector>

#include "libs/tunnel/framed_stream.h"
#include "libs/tunnel/sockets.h"

namespace switchyard::tunnel {

absl::Status RelayDatagrams(int stream, int udp) {
  if (absl::Status s = SetNonBlocking(stream, true); !s.ok()) return s;
  if (absl::Status s = SetNonBlocking(udp, true); !s.ok()) return s;
  FramedStream framed(stream);
  std::vector<std::string> datagrams;
  std::string buf(kMaxDatagram, '\0');
  while (true) {
    pollfd fds[2] = {{stream, static_cast<short>(POLLIN | (framed.WantsWrite() ? POLLOUT : 0)), 0}, {udp, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(ErrnoText(errno));
    }
    if (fds[0].revents != 0) {
      datagrams.clear();
      absl::Status read = framed.Read(&datagrams);
      for (const std::string& d : datagrams) {
        // ECONNREFUSED (an earlier ICMP port unreachable) and a full buffer
        // lose this datagram only, as they would without the tunnel.
        (void)::send(udp, d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      if (absl::IsOutOfRange(read)) return absl::OkStatus();
      if (!read.ok()) return read;
      if (absl::Status s = framed.Flush(); !s.ok()) return s;
    }
    if (fds[1].revents != 0) {
      while (true) {
        ssize_t n = ::recv(udp, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;  // EAGAIN, or a pending ICMP error now consumed
        framed.Send(absl::string_view(buf.data(), n));
      }
    }
  }
}

}  // namespace switchyard::tunnel
