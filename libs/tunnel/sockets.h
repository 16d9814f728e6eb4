#pragma once

#include <sys/socket.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace switchyard::tunnel {

// An IP socket address built from a literal and a port.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Parses an IPv4 or IPv6 literal (no brackets) with a port.
absl::StatusOr<SockAddr> MakeSockAddr(absl::string_view ip, int port);
// "10.0.2.100:80" or "[::1]:80", as Go prints addresses.
std::string FormatHostPort(absl::string_view ip, int port);

// strerror in Go's wording: "connection refused", "address already in use".
std::string ErrnoText(int err);

absl::Status SetNonBlocking(int fd, bool on);

// A connected Unix socket of `type` (close-on-exec, blocking).
absl::StatusOr<int> ConnectUnix(const std::string& path, int type = SOCK_STREAM);
// A listening Unix socket of `type` at `path` (a stale file is replaced), 0600.
absl::StatusOr<int> ListenUnix(const std::string& path, int type = SOCK_STREAM);
// A connected socket of `type` (SOCK_STREAM or SOCK_DGRAM) to `addr`,
// blocking, giving up after `timeout`; a stream has TCP_NODELAY, as every
// relayed connection wants. Errors read as Go's:
// "dial tcp 10.0.2.100:80: connect: connection refused".
absl::StatusOr<int> Dial(int type, absl::string_view ip, int port, absl::Duration timeout);

// Reads one line (newline consumed, not returned) of at most `max` bytes
// newline included, without reading past it: the bytes after belong to the
// stream that follows. DEADLINE_EXCEEDED after `timeout`.
absl::StatusOr<std::string> ReadLine(int fd, size_t max, absl::Duration timeout);
// Writes all of `data` to a blocking socket.
absl::Status WriteAll(int fd, absl::string_view data);

}  // namespace switchyard::tunnel
