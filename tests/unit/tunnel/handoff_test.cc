#include "libs/tunnel/handoff.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/unit/tunnel/echo_servers.h"

namespace tunnel = switchyard::tunnel;
using namespace switchyard::testing;

namespace {

struct Pair {
  Pair(int type) { REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) == 0); }
  ~Pair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  int fds[2] = {-1, -1};
};

}  // namespace

// A TCP socket listening on a loopback port.
int Listener() {
  int fd = BoundSocket(SOCK_STREAM, "127.0.0.1", 0);
  REQUIRE(fd >= 0);
  REQUIRE(::listen(fd, 16) == 0);
  return fd;
}

TEST_CASE("a lent listener arrives with its target and still accepts", "[tunnel][unit]") {
  Pair channel(SOCK_SEQPACKET);
  int listener = Listener();
  const int port = LocalPort(listener);
  REQUIRE(tunnel::SendHandoff(channel.fds[0], {tunnel::Protocol::kTcp, "0.0.0.0", 8080}, listener).ok());
  ::close(listener);  // the sender's copy goes; the message holds its own

  absl::StatusOr<tunnel::Handoff> got = tunnel::ReceiveHandoff(channel.fds[1]);
  REQUIRE(got.ok());
  CHECK(got->target == tunnel::TunnelTarget{tunnel::Protocol::kTcp, "0.0.0.0", 8080});
  int client = ConnectTcp("127.0.0.1", port);
  REQUIRE(client >= 0);
  int accepted = ::accept(got->fd, nullptr, nullptr);
  REQUIRE(accepted >= 0);
  REQUIRE(SendAll(accepted, "through", 7));
  ::close(accepted);
  CHECK(ReadToEof(client) == "through");
  ::close(client);
  ::close(got->fd);
}

TEST_CASE("a lending without a descriptor, with a bad header or with no listener is refused, its descriptor closed",
          "[tunnel][unit]") {
  Pair channel(SOCK_SEQPACKET);
  const std::string bare = "tcp 0.0.0.0 80\n";
  REQUIRE(::send(channel.fds[0], bare.data(), bare.size(), 0) == static_cast<ssize_t>(bare.size()));
  absl::StatusOr<tunnel::Handoff> got = tunnel::ReceiveHandoff(channel.fds[1]);
  CHECK(got.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(got.status().message()), Catch::Contains("0 descriptors"));

  int listener = Listener();
  REQUIRE(tunnel::SendHandoff(channel.fds[0], {tunnel::Protocol::kUdp, "0.0.0.0", 53}, listener).ok());
  got = tunnel::ReceiveHandoff(channel.fds[1]);
  CHECK(got.status().code() == absl::StatusCode::kInvalidArgument);
  ::close(listener);

  // A connected socket is not a listener: refused, and its copy closed.
  Pair connection(SOCK_STREAM);
  REQUIRE(tunnel::SendHandoff(channel.fds[0], {tunnel::Protocol::kTcp, "0.0.0.0", 80}, connection.fds[1]).ok());
  ::close(connection.fds[1]);
  connection.fds[1] = -1;
  got = tunnel::ReceiveHandoff(channel.fds[1]);
  CHECK(got.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(got.status().message()), Catch::Contains("not a listening socket"));
  CHECK(ReadToEof(connection.fds[0], 2000).empty());  // EOF: the refused copy was closed

  ::close(channel.fds[0]);
  channel.fds[0] = -1;
  CHECK(tunnel::ReceiveHandoff(channel.fds[1]).status().code() == absl::StatusCode::kOutOfRange);
}
