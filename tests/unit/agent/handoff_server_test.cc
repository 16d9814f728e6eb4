#include "guest-agent/handoff_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "libs/tunnel/handoff.h"
#include "tests/unit/tunnel/echo_servers.h"

namespace fs = std::filesystem;
namespace tunnel = switchyard::tunnel;
using switchyard::agent::HandoffServer;
using namespace switchyard::testing;

namespace {

struct HandoffFixture {
  HandoffFixture() {
    dir = fs::temp_directory_path() / ("sy-handoff-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    socket = (dir / "handoff.sock").string();
    switchyard::agent::HandoffServerOptions options;
    options.dial_timeout = absl::Seconds(1);
    server = std::make_unique<HandoffServer>(options);
    REQUIRE(server->Start(socket).ok());
    auto fd = tunnel::ConnectHandoff(socket, absl::Seconds(1));
    REQUIRE(fd.ok());
    channel = *fd;
  }
  ~HandoffFixture() {
    ::close(channel);
    server->Stop();
    fs::remove_all(dir);
  }
  // Hands one end of a fresh connection to the server; returns the other.
  int HandOff(int port) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    REQUIRE(tunnel::SendHandoff(channel, {tunnel::Protocol::kTcp, "127.0.0.1", port}, fds[1]).ok());
    ::close(fds[1]);
    return fds[0];
  }
  fs::path dir;
  std::string socket;
  std::unique_ptr<HandoffServer> server;
  int channel = -1;
};

}  // namespace

TEST_CASE("a handed-off connection reaches its target in the guest, half-close included", "[agent][unit]") {
  TcpEchoServer echo;
  HandoffFixture f;
  for (int i = 0; i < 3; ++i) {  // one channel carries many connections
    int client = f.HandOff(echo.port());
    REQUIRE(SendAll(client, "handed off", 10));
    ::shutdown(client, SHUT_WR);
    CHECK(ReadToEof(client) == "handed off");
    ::close(client);
  }
}

TEST_CASE("a handed-off connection whose target refuses is closed", "[agent][unit]") {
  HandoffFixture f;
  int client = f.HandOff(FreePort());
  CHECK(ReadToEof(client, 5000).empty());
  ::close(client);
}

TEST_CASE("stopping the handoff server ends open connections", "[agent][unit]") {
  TcpEchoServer echo;
  HandoffFixture f;
  int client = f.HandOff(echo.port());
  REQUIRE(SendAll(client, "x", 1));
  f.server->Stop();
  CHECK(ReadToEof(client, 5000).size() <= 1);  // ended, not held open
  ::close(client);
}
