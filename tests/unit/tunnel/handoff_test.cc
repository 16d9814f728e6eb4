#include "libs/tunnel/handoff.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "libs/tunnel/connection_tracker.h"
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

TEST_CASE("a handed-off socket arrives with its target and still carries bytes", "[tunnel][unit]") {
  Pair channel(SOCK_SEQPACKET);
  Pair connection(SOCK_STREAM);
  REQUIRE(tunnel::SendHandoff(channel.fds[0], {tunnel::Protocol::kTcp, "0.0.0.0", 8080}, connection.fds[1]).ok());
  ::close(connection.fds[1]);  // the sender's copy goes; the message holds its own
  connection.fds[1] = -1;

  absl::StatusOr<tunnel::Handoff> got = tunnel::ReceiveHandoff(channel.fds[1]);
  REQUIRE(got.ok());
  CHECK(got->target == tunnel::TunnelTarget{tunnel::Protocol::kTcp, "0.0.0.0", 8080});
  REQUIRE(SendAll(got->fd, "through", 7));
  ::close(got->fd);
  CHECK(ReadToEof(connection.fds[0]) == "through");
}

TEST_CASE("a handoff without a descriptor or with a bad header is refused, its descriptor closed",
          "[tunnel][unit]") {
  Pair channel(SOCK_SEQPACKET);
  const std::string bare = "tcp 0.0.0.0 80\n";
  REQUIRE(::send(channel.fds[0], bare.data(), bare.size(), 0) == static_cast<ssize_t>(bare.size()));
  absl::StatusOr<tunnel::Handoff> got = tunnel::ReceiveHandoff(channel.fds[1]);
  CHECK(got.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(got.status().message()), Catch::Contains("0 descriptors"));

  Pair connection(SOCK_STREAM);
  REQUIRE(tunnel::SendHandoff(channel.fds[0], {tunnel::Protocol::kUdp, "0.0.0.0", 53}, connection.fds[1]).ok());
  ::close(connection.fds[1]);
  connection.fds[1] = -1;
  got = tunnel::ReceiveHandoff(channel.fds[1]);
  CHECK(got.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ReadToEof(connection.fds[0], 2000).empty());  // EOF: the refused copy was closed

  ::close(channel.fds[0]);
  channel.fds[0] = -1;
  CHECK(tunnel::ReceiveHandoff(channel.fds[1]).status().code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("the handoff client opens a fresh channel once when the old one broke", "[tunnel][unit]") {
  std::vector<int> peers;
  int dials = 0;
  tunnel::HandoffClient client([&]() -> absl::StatusOr<int> {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    ++dials;
    peers.push_back(fds[1]);
    return fds[0];
  });
  Pair connection(SOCK_STREAM);
  const tunnel::TunnelTarget target{tunnel::Protocol::kTcp, "10.0.2.100", 80};
  REQUIRE(client.Send(target, connection.fds[1]).ok());
  CHECK(dials == 1);
  ::close(peers[0]);  // the agent's end went away with its VM
  REQUIRE(client.Send(target, connection.fds[1]).ok());
  CHECK(dials == 2);
  absl::StatusOr<tunnel::Handoff> got = tunnel::ReceiveHandoff(peers[1]);
  REQUIRE(got.ok());
  ::close(got->fd);
  ::close(peers[1]);
}

TEST_CASE("a connection thread whose connection ended serves the next one", "[tunnel][unit]") {
  tunnel::ConnectionTracker tracker(absl::Seconds(30));
  std::atomic<std::thread::id> first, second;
  REQUIRE(tracker.Spawn([&] { first = std::this_thread::get_id(); }));
  for (int i = 0; i < 200 && tracker.live() > 0; ++i) ::usleep(10 * 1000);
  ::usleep(20 * 1000);  // the thread is back in its wait
  REQUIRE(tracker.Spawn([&] { second = std::this_thread::get_id(); }));
  for (int i = 0; i < 200 && tracker.live() > 0; ++i) ::usleep(10 * 1000);
  CHECK(first.load() == second.load());
  CHECK(tracker.threads() == 1);
  tracker.StopAll();  // wakes the idle thread and waits for it
  CHECK(tracker.threads() == 0);
}

TEST_CASE("an idle connection thread leaves after its linger", "[tunnel][unit]") {
  tunnel::ConnectionTracker tracker(absl::Milliseconds(50));
  REQUIRE(tracker.Spawn([] {}));
  for (int i = 0; i < 200 && tracker.threads() > 0; ++i) ::usleep(10 * 1000);
  CHECK(tracker.threads() == 0);
}
