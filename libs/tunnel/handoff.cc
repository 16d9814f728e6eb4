#include "libs/tunnel/handoff.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/tunnel/sockets.h"

namespace switchyard::tunnel {
absl::StatusOr<int> ListenHandoff(const std::string& path) { return ListenUnix(path, SOCK_SEQPACKET); }

absl::StatusOr<int> ConnectHandoff(const std::string& path, absl::Duration send_timeout) {
  absl::StatusOr<int> fd = ConnectUnix(path, SOCK_SEQPACKET);
  if (!fd.ok()) return fd.status();
  // A stuck agent must not stall the VM manager's listener behind this send.
  timeval tv = absl::ToTimeval(send_timeout);
  ::setsockopt(*fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

absl::Status SendHandoff(int channel, const TunnelTarget& target, int fd) {
  std::string header = FormatHeader(target);
  iovec iov{header.data(), header.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  while (true) {
    ssize_t n = ::sendmsg(channel, &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(header.size())) return absl::OkStatus();
    if (n < 0 && errno == EINTR) continue;
    return absl::UnavailableError(absl::StrCat("hand off: ", n < 0 ? ErrnoText(errno) : "short send"));
  }
}

absl::StatusOr<Handoff> ReceiveHandoff(int channel) {
  char line[kMaxLineLength + 1];
  iovec iov{line, sizeof(line)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return absl::OutOfRangeError("handoff channel closed");
  if (n < 0) return absl::UnavailableError(absl::StrCat("handoff receive: ", ErrnoText(errno)));

  // Take every descriptor that came, so that none leaks on a bad message.
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.push_back(fd);
    }
  }
  auto refuse = [&](absl::string_view why) {
    for (int fd : fds) ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("handoff refused: ", why));
  };
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) return refuse("message truncated");
  if (fds.size() != 1) return refuse(absl::StrCat(fds.size(), " descriptors, want 1"));
  absl::string_view text(line, n);
  if (text.empty() || text.back() != '\n') return refuse("header without a newline");
  text.remove_suffix(1);
  absl::StatusOr<TunnelTarget> target = ParseHeader(text);
  if (!target.ok()) return refuse(target.status().message());
  if (target->protocol != Protocol::kTcp) return refuse("only tcp listeners are lent");
  int listening = 0;
  socklen_t size = sizeof(listening);
  if (::getsockopt(fds[0], SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) {
    return refuse("not a listening socket");
  }
  return Handoff{*std::move(target), fds[0]};
}

}  // namespace switchyard::tunnel
