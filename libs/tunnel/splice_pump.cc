#include "libs/tunnel/splice_pump.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "libs/tunnel/sockets.h"

namespace switchyard::tunnel {
namespace {

// Bigger pipes mean fewer system calls per megabyte; the kernel may refuse
// (pipe-user-pages limits), and the default 64 KiB still works.
constexpr int kPipeSize = 512 * 1024;

struct Direction {
  int from = -1;
  int to = -1;
  int pipe_r = -1;
  int pipe_w = -1;
  size_t capacity = 0;
  size_t buffered = 0;  // bytes sitting in the pipe
  // The pipe has no free slot: it counts pages, not bytes, so small socket
  // buffers can fill it well below `capacity`. Reading waits for a drain.
  bool pipe_full = false;
  bool eof = false;     // `from` has no more to give
  bool done = false;    // EOF passed on to `to`
};

absl::Status OpenPipe(Direction& d) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return absl::ResourceExhaustedError(ErrnoText(errno));
  d.pipe_r = fds[0];
  d.pipe_w = fds[1];
  ::fcntl(d.pipe_w, F_SETPIPE_SZ, kPipeSize);
  int size = ::fcntl(d.pipe_w, F_GETPIPE_SZ);
  d.capacity = size > 0 ? size : 64 * 1024;
  return absl::OkStatus();
}

// Moves what it can without blocking. Returns an error when a socket fails.
absl::Status Move(Direction& d) {
  while (!d.done) {
    bool moved = false;
    if (!d.eof && !d.pipe_full && d.buffered < d.capacity) {
      ssize_t n =
          ::splice(d.from, nullptr, d.pipe_w, nullptr, d.capacity - d.buffered, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        d.buffered += n;
        moved = true;
      } else if (n == 0) {
        d.eof = true;
      } else if (errno == EAGAIN) {
        // Socket empty, or pipe full? Only the first is worth a POLLIN, else
        // poll would report the readable socket again and again.
        pollfd p{d.pipe_w, POLLOUT, 0};
        d.pipe_full = d.buffered > 0 && ::poll(&p, 1, 0) == 0;
      } else if (errno != EINTR) {
        return absl::UnavailableError(absl::StrCat("read: ", ErrnoText(errno)));
      }
    }
    if (d.buffered > 0) {
      ssize_t n = ::splice(d.pipe_r, nullptr, d.to, nullptr, d.buffered, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        d.buffered -= n;
        d.pipe_full = false;
        moved = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return absl::UnavailableError(absl::StrCat("write: ", ErrnoText(errno)));
      }
    }
    if (d.eof && d.buffered == 0) {
      ::shutdown(d.to, SHUT_WR);
      d.done = true;
    }
    if (!moved) break;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SpliceBoth(int a, int b) {
  Direction dirs[2];
  dirs[0].from = dirs[1].to = a;
  dirs[0].to = dirs[1].from = b;
  absl::Status status = SetNonBlocking(a, true);
  if (status.ok()) status = SetNonBlocking(b, true);
  for (Direction& d : dirs) {
    if (status.ok()) status = OpenPipe(d);
  }
  while (status.ok() && !(dirs[0].done && dirs[1].done)) {
    for (Direction& d : dirs) {
      if (status.ok()) status = Move(d);
    }
    if (!status.ok() || (dirs[0].done && dirs[1].done)) break;
    // Wait for whatever would let a direction move again.
    short events_a = 0, events_b = 0;
    for (const Direction& d : dirs) {
      if (d.done) continue;
      short& from_events = d.from == a ? events_a : events_b;
      short& to_events = d.to == a ? events_a : events_b;
      if (!d.eof && !d.pipe_full && d.buffered < d.capacity) from_events |= POLLIN;
      if (d.buffered > 0) to_events |= POLLOUT;
    }
    pollfd fds[2] = {{events_a != 0 ? a : -1, events_a, 0}, {events_b != 0 ? b : -1, events_b, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) status = absl::InternalError(ErrnoText(errno));
  }
  for (Direction& d : dirs) {
    if (d.pipe_r >= 0) ::close(d.pipe_r);
    if (d.pipe_w >= 0) ::close(d.pipe_w);
  }
  return status;
}

}  // namespace switchyard::tunnel
