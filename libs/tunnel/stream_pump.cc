#include "libs/tunnel/stream_pump.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "libs/tunnel/sockets.h"

namespace switchyard::tunnel {
namespace {

constexpr size_t kFirstBuffer = 64 * 1024;
// Big steps mean fewer wake-ups and system calls per megabyte; past 1 MiB
// the measured gain stopped.
constexpr size_t kBulkBuffer = 1024 * 1024;

struct Direction {
  int from = -1;
  int to = -1;
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
  size_t start = 0;  // bytes [start, end) are read but not yet written
  size_t end = 0;
  bool grow = false;  // a read filled the buffer: grow it once it is empty
  bool eof = false;   // `from` has no more to give
  bool done = false;  // EOF passed on to `to`, or failed
  absl::Status error;

  bool CanRead() const { return !eof && end < capacity; }
  bool HasPending() const { return end > start; }
};

void Allocate(Direction& d, size_t capacity) {
  d.buffer = std::make_unique_for_overwrite<char[]>(capacity);
  d.capacity = capacity;
}

// Ends a direction that failed: what it holds cannot be delivered. Its
// source stops being read and its destination sees EOF, while the other
// direction carries on (a server's early reply still reaches the client
// whose upload it refused), as docker-proxy does.
void Fail(Direction& d, absl::Status why) {
  d.error = std::move(why);
  d.start = d.end = 0;
  ::shutdown(d.from, SHUT_RD);
  ::shutdown(d.to, SHUT_WR);
  d.done = true;
}

// Moves what it can without blocking, up to a turn's worth, so that a steady
// stream one way does not starve the other.
void Move(Direction& d) {
  size_t turn = 2 * kBulkBuffer;
  while (!d.done && turn > 0) {
    size_t moved = 0;
    if (d.CanRead()) {
      size_t room = d.capacity - d.end;
      ssize_t n = ::recv(d.from, d.buffer.get() + d.end, room, 0);
      if (n > 0) {
        d.end += n;
        d.grow = d.grow || (static_cast<size_t>(n) == room && d.capacity < kBulkBuffer);
        moved += n;
      } else if (n == 0) {
        d.eof = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        return Fail(d, absl::UnavailableError(absl::StrCat("read: ", ErrnoText(errno))));
      }
    }
    if (d.HasPending()) {
      ssize_t n = ::send(d.to, d.buffer.get() + d.start, d.end - d.start, MSG_NOSIGNAL);
      if (n > 0) {
        d.start += n;
        moved += n;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return Fail(d, absl::UnavailableError(absl::StrCat("write: ", ErrnoText(errno))));
      }
    }
    if (!d.HasPending()) {
      d.start = d.end = 0;
      if (d.grow) {
        Allocate(d, kBulkBuffer);
        d.grow = false;
      }
    }
    if (d.eof && !d.HasPending()) {
      ::shutdown(d.to, SHUT_WR);
      d.done = true;
    }
    if (moved == 0) break;
    turn -= std::min(turn, moved);
  }
}

}  // namespace

absl::Status PumpBoth(int a, int b) {
  Direction dirs[2];
  dirs[0].from = dirs[1].to = a;
  dirs[0].to = dirs[1].from = b;
  absl::Status status = SetNonBlocking(a, true);
  if (status.ok()) status = SetNonBlocking(b, true);
  if (!status.ok()) return status;
  for (Direction& d : dirs) Allocate(d, kFirstBuffer);
  while (!(dirs[0].done && dirs[1].done)) {
    for (Direction& d : dirs) Move(d);
    if (dirs[0].done && dirs[1].done) break;
    // Wait for whatever would let a direction move again.
    short events_a = 0, events_b = 0;
    for (const Direction& d : dirs) {
      if (d.done) continue;
      short& from_events = d.from == a ? events_a : events_b;
      short& to_events = d.to == a ? events_a : events_b;
      if (d.CanRead()) from_events |= POLLIN;
      if (d.HasPending()) to_events |= POLLOUT;
    }
    pollfd fds[2] = {{events_a != 0 ? a : -1, events_a, 0}, {events_b != 0 ? b : -1, events_b, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return absl::InternalError(ErrnoText(errno));
  }
  return !dirs[0].error.ok() ? dirs[0].error : dirs[1].error;
}

}  // namespace switchyard::tunnel
