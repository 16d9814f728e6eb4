#include "guest-agent/tunnel_server.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "guest-agent/guest_address.h"
#include "libs/tunnel/frame_codec.h"
#include "libs/tunnel/sockets.h"
#include "libs/tunnel/tunnel_header.h"
#include "tests/unit/tunnel/echo_servers.h"

namespace fs = std::filesystem;
namespace tunnel = switchyard::tunnel;
using switchyard::agent::TunnelServer;
using namespace switchyard::testing;

namespace {

struct TunnelFixture {
  TunnelFixture() {
    dir = fs::temp_directory_path() / ("sy-tunnel-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    socket = (dir / "tunnel.sock").string();
    switchyard::agent::TunnelServerOptions options;
    options.header_timeout = absl::Milliseconds(500);
    options.dial_timeout = absl::Seconds(1);
    server = std::make_unique<TunnelServer>(options);
    REQUIRE(server->Start(socket).ok());
  }
  ~TunnelFixture() {
    server->Stop();
    fs::remove_all(dir);
  }
  // Sends `header` and returns the stream and the reply line.
  std::pair<int, std::string> Open(const std::string& header) {
    auto fd = tunnel::ConnectUnix(socket);
    REQUIRE(fd.ok());
    REQUIRE(SendAll(*fd, header.data(), header.size()));
    auto line = tunnel::ReadLine(*fd, tunnel::kMaxLineLength, absl::Seconds(5));
    return {*fd, line.ok() ? *line : std::string(line.status().message())};
  }

  fs::path dir;
  std::string socket;
  std::unique_ptr<TunnelServer> server;
};

}  // namespace

TEST_CASE("agent tunnel carries a TCP connection with half-close", "[agent][unit]") {
  TcpEchoServer echo;
  TunnelFixture f;
  auto [fd, reply] = f.Open("tcp 127.0.0.1 " + std::to_string(echo.port()) + "\n");
  REQUIRE(reply == "OK");
  REQUIRE(SendAll(fd, "hello tunnel", 12));
  ::shutdown(fd, SHUT_WR);  // the echo server answers after our EOF, then closes
  REQUIRE(ReadToEof(fd) == "hello tunnel");
  ::close(fd);
}

TEST_CASE("agent tunnel dials the guest's own address for a wildcard", "[agent][unit]") {
  TcpEchoServer echo("0.0.0.0");
  TunnelFixture f;
  REQUIRE_FALSE(switchyard::agent::GuestDialAddress("0.0.0.0").empty());
  REQUIRE(switchyard::agent::GuestDialAddress("127.0.0.1") == "127.0.0.1");
  auto [fd, reply] = f.Open("tcp 0.0.0.0 " + std::to_string(echo.port()) + "\n");
  REQUIRE(reply == "OK");
  REQUIRE(SendAll(fd, "x", 1));
  ::shutdown(fd, SHUT_WR);
  REQUIRE(ReadToEof(fd) == "x");
  ::close(fd);
}

TEST_CASE("agent tunnel relays UDP datagrams", "[agent][unit]") {
  UdpEchoServer echo;
  TunnelFixture f;
  auto [fd, reply] = f.Open("udp 127.0.0.1 " + std::to_string(echo.port()) + "\n");
  REQUIRE(reply == "OK");
  std::string frames;
  tunnel::AppendFrame("ping", &frames);
  tunnel::AppendFrame(std::string(1200, 'u'), &frames);
  REQUIRE(SendAll(fd, frames.data(), frames.size()));
  tunnel::FrameDecoder decoder;
  std::vector<std::string> got;
  char buf[4096];
  while (got.size() < 2) {
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    ssize_t n = ::read(fd, buf, sizeof(buf));
    REQUIRE(n > 0);
    decoder.Feed(absl::string_view(buf, n));
    std::string d;
    while (decoder.Next(&d)) got.push_back(d);
  }
  REQUIRE(got[0] == "ping");
  REQUIRE(got[1] == std::string(1200, 'u'));
  ::close(fd);  // ends the flow
}

TEST_CASE("agent tunnel answers ERR to bad headers and failed dials", "[agent][unit]") {
  TunnelFixture f;
  for (const char* bad : {"tcp 127.0.0.1 0\n", "ftp 127.0.0.1 80\n", "tcp nowhere 80\n", "\n"}) {
    auto [fd, reply] = f.Open(bad);
    INFO(bad);
    REQUIRE(reply.rfind("ERR ", 0) == 0);
    ::close(fd);
  }
  {
    // A header that never ends is cut off at the length cap.
    auto [fd, reply] = f.Open(std::string(300, 'a'));
    REQUIRE(reply.rfind("ERR ", 0) == 0);
    ::close(fd);
  }
  {
    int port = FreePort();
    auto [fd, reply] = f.Open("tcp 127.0.0.1 " + std::to_string(port) + "\n");
    REQUIRE(reply == "ERR dial tcp 127.0.0.1:" + std::to_string(port) + ": connect: connection refused");
    ::close(fd);
  }
  {
    // No header at all: ERR after the header timeout, and the server lives on.
    auto fd = tunnel::ConnectUnix(f.socket);
    REQUIRE(fd.ok());
    auto line = tunnel::ReadLine(*fd, tunnel::kMaxLineLength, absl::Seconds(5));
    REQUIRE(line.ok());
    REQUIRE(line->rfind("ERR ", 0) == 0);
    ::close(*fd);
  }
  TcpEchoServer echo;
  auto [fd, reply] = f.Open("tcp 127.0.0.1 " + std::to_string(echo.port()) + "\n");
  REQUIRE(reply == "OK");
  ::close(fd);
}

TEST_CASE("stopping the agent tunnel server ends open tunnels", "[agent][unit]") {
  TcpEchoServer echo;
  TunnelFixture f;
  auto [fd, reply] = f.Open("tcp 127.0.0.1 " + std::to_string(echo.port()) + "\n");
  REQUIRE(reply == "OK");
  auto start = std::chrono::steady_clock::now();
  f.server->Stop();  // returns only once the tunnel's thread has ended
  REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  REQUIRE(ReadToEof(fd, 2000).empty());
  REQUIRE_FALSE(tunnel::ConnectUnix(f.socket).ok());
  ::close(fd);
}
