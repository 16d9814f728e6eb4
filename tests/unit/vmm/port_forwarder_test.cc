#include "services/vmm/port_forwarder.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "guest-agent/handoff_server.h"
#include "guest-agent/tunnel_server.h"
#include "libs/tunnel/handoff.h"
#include "libs/tunnel/sockets.h"
#include "tests/unit/tunnel/echo_servers.h"

namespace fs = std::filesystem;
namespace tunnel = switchyard::tunnel;
using switchyard::vmm::ForwardedPort;
using switchyard::vmm::PortForwarder;
using namespace switchyard::testing;

namespace {

// A guest agent's tunnel endpoint in this process, and a forwarder to it.
struct ForwarderFixture {
  explicit ForwarderFixture(absl::Duration udp_idle = absl::Seconds(60)) {
    dir = fs::temp_directory_path() / ("sy-pf-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    socket = (dir / "tunnel.sock").string();
    REQUIRE(agent.Start(socket).ok());
    switchyard::vmm::PortForwarderOptions options;
    options.udp_idle_timeout = udp_idle;
    options.handshake_timeout = absl::Seconds(3);
    forwarder = std::make_unique<PortForwarder>(
        "hv", [path = socket] { return tunnel::ConnectUnix(path); }, options);
  }
  ~ForwarderFixture() {
    forwarder.reset();
    agent.Stop();
    fs::remove_all(dir);
  }

  fs::path dir;
  std::string socket;
  switchyard::agent::TunnelServer agent;
  std::unique_ptr<PortForwarder> forwarder;
};

ForwardedPort Tcp(int host_port, int guest_port, std::string host_ip = "127.0.0.1") {
  return ForwardedPort{"tcp", std::move(host_ip), host_port, "127.0.0.1", guest_port, "0123456789abcdef"};
}

// The inode of the socket listening on TCP `port`, from /proc: the same
// inode after a sync means the listener was not rebound.
std::string ListenerInode(int port) {
  std::ifstream in("/proc/self/net/tcp");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retrans, uid, timeout, inode;
    fields >> sl >> local >> remote >> state >> queues >> timer >> retrans >> uid >> timeout >> inode;
    if (state == "0A" && std::stoi(local.substr(local.find(':') + 1), nullptr, 16) == port) return inode;
  }
  return "";
}

}  // namespace

TEST_CASE("forwarded TCP port carries data both ways, 64 MiB byte-exact, with half-close", "[vmm][unit]") {
  TcpEchoServer echo;
  ForwarderFixture f;
  int port = FreePort();
  auto result = f.forwarder->Sync({Tcp(port, echo.port())});
  REQUIRE(result.failures.empty());
  REQUIRE(result.bound == 1);

  REQUIRE(RoundTrip(port, "hello") == "hello");

  std::string big(64 << 20, '\0');
  uint32_t x = 12345;
  for (char& c : big) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  std::string echoed = RoundTrip(port, big);
  REQUIRE(echoed.size() == big.size());
  REQUIRE(echoed == big);
}

TEST_CASE("SyncPorts is declarative: unchanged stays bound, removed is closed", "[vmm][unit]") {
  TcpEchoServer echo, other_echo;
  ForwarderFixture f;
  int a = FreePort(), b = FreePort();
  REQUIRE(f.forwarder->Sync({Tcp(a, echo.port()), Tcp(b, echo.port())}).bound == 2);
  std::string inode_a = ListenerInode(a);
  REQUIRE_FALSE(inode_a.empty());

  // A connection made before a sync survives it.
  int live = ConnectTcp("127.0.0.1", a);
  REQUIRE(live >= 0);
  REQUIRE(SendAll(live, "before", 6));

  auto result = f.forwarder->Sync({Tcp(a, echo.port())});
  REQUIRE(result.failures.empty());
  REQUIRE(result.bound == 1);
  REQUIRE(ListenerInode(a) == inode_a);  // not rebound
  REQUIRE(RoundTrip(b, "x") == "<refused>");
  REQUIRE(RoundTrip(a, "still") == "still");

  // Same set again: nothing moves.
  REQUIRE(f.forwarder->Sync({Tcp(a, echo.port())}).bound == 1);
  REQUIRE(ListenerInode(a) == inode_a);

  // A new guest target applies to new connections, without a rebind.
  REQUIRE(f.forwarder->Sync({Tcp(a, other_echo.port())}).bound == 1);
  REQUIRE(ListenerInode(a) == inode_a);
  REQUIRE(RoundTrip(a, "moved") == "moved");

  // Removing the port closes the listener but not the live connection.
  REQUIRE(f.forwarder->Sync({}).bound == 0);
  REQUIRE(RoundTrip(a, "x") == "<refused>");
  REQUIRE(SendAll(live, " after", 6));
  ::shutdown(live, SHUT_WR);
  REQUIRE(ReadToEof(live) == "before after");
  ::close(live);
}

TEST_CASE("a port that cannot be bound is reported in dockerd's words", "[vmm][unit]") {
  TcpEchoServer echo;
  ForwarderFixture f;
  int taken = BoundSocket(SOCK_STREAM, "0.0.0.0", 0);
  REQUIRE(::listen(taken, 1) == 0);
  int port = LocalPort(taken);
  int free_port = FreePort();
  auto result = f.forwarder->Sync({Tcp(port, echo.port(), ""), Tcp(free_port, echo.port()),
                                   ForwardedPort{"sctp", "", free_port, "", 80, ""}, Tcp(free_port, echo.port())});
  REQUIRE(result.bound == 1);
  REQUIRE(result.failures.size() == 3);
  REQUIRE(result.failures[0].error == "listen tcp4 0.0.0.0:" + std::to_string(port) + ": bind: address already in use");
  REQUIRE(result.failures[0].port.host_port == port);
  REQUIRE(result.failures[1].error == "unknown protocol \"sctp\"");
  REQUIRE(result.failures[2].error ==
          "Bind for 127.0.0.1:" + std::to_string(free_port) + " failed: port is already allocated");
  // Retried at the next sync, and bound once free.
  ::close(taken);
  result = f.forwarder->Sync({Tcp(port, echo.port(), ""), Tcp(free_port, echo.port())});
  REQUIRE(result.failures.empty());
  REQUIRE(result.bound == 2);
  REQUIRE(RoundTrip(port, "now") == "now");
}

TEST_CASE("a failed tunnel closes the client connection", "[vmm][unit]") {
  ForwarderFixture f;
  int port = FreePort();
  int closed = FreePort();  // nothing listens in the "guest"
  REQUIRE(f.forwarder->Sync({Tcp(port, closed)}).bound == 1);
  REQUIRE(RoundTrip(port, "lost").empty());
}

TEST_CASE("forwarded UDP port round-trips datagrams and forgets idle flows", "[vmm][unit]") {
  UdpEchoServer echo;
  ForwarderFixture f(absl::Milliseconds(300));
  int port = FreePort(SOCK_DGRAM);
  auto result = f.forwarder->Sync({ForwardedPort{"udp", "127.0.0.1", port, "127.0.0.1", echo.port(), "c0ffee"}});
  REQUIRE(result.failures.empty());

  int client = BoundSocket(SOCK_DGRAM, "127.0.0.1", 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
  auto ping = [&](const std::string& payload) {
    ::send(client, payload.data(), payload.size(), 0);
    pollfd p{client, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return std::string("<timeout>");
    char buf[65536];
    ssize_t n = ::recv(client, buf, sizeof(buf), 0);
    return n < 0 ? std::string("<error>") : std::string(buf, n);
  };
  REQUIRE(ping("ping") == "ping");
  REQUIRE(ping(std::string(8000, 'd')) == std::string(8000, 'd'));
  REQUIRE(echo.senders().size() == 1);  // one flow, one guest socket

  // After the idle timeout the flow is gone: the next datagram opens another.
  ::usleep(900 * 1000);
  REQUIRE(ping("again") == "again");
  REQUIRE(echo.senders().size() == 2);
  ::close(client);

  REQUIRE(f.forwarder->Sync({}).bound == 0);
}

TEST_CASE("shutting the forwarder down closes listeners and live connections", "[vmm][unit]") {
  TcpEchoServer echo;
  ForwarderFixture f;
  int port = FreePort();
  REQUIRE(f.forwarder->Sync({Tcp(port, echo.port())}).bound == 1);
  int live = ConnectTcp("127.0.0.1", port);
  REQUIRE(live >= 0);
  REQUIRE(SendAll(live, "a", 1));
  char c;
  REQUIRE(::read(live, &c, 1) == 1);  // the tunnel is up
  auto start = std::chrono::steady_clock::now();
  f.forwarder->Shutdown();
  REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  REQUIRE(ReadToEof(live, 2000).empty());
  REQUIRE(ConnectTcp("127.0.0.1", port) < 0);
  ::close(live);
  REQUIRE(f.forwarder->Sync({Tcp(port, echo.port())}).bound == 0);
}

TEST_CASE("a TCP listener is lent to the agent while it takes it, and served here while it does not",
          "[vmm][unit]") {
  TcpEchoServer echo;
  const fs::path dir = fs::temp_directory_path() / ("sy-pf-lend-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string tunnel_socket = (dir / "tunnel.sock").string();
  const std::string handoff_socket = (dir / "handoff.sock").string();
  switchyard::agent::TunnelServer tunnels;
  REQUIRE(tunnels.Start(tunnel_socket).ok());
  auto agent = std::make_unique<switchyard::agent::HandoffServer>();
  REQUIRE(agent->Start(handoff_socket).ok());
  std::atomic<int> tunnels_opened{0};
  auto forwarder = std::make_unique<PortForwarder>(
      "hv",
      [&tunnels_opened, path = tunnel_socket] {
        ++tunnels_opened;
        return tunnel::ConnectUnix(path);
      },
      switchyard::vmm::PortForwarderOptions{},
      [path = handoff_socket] { return tunnel::ConnectHandoff(path, absl::Seconds(1)); });
  const int port = FreePort();
  REQUIRE(forwarder->Sync({Tcp(port, echo.port())}).bound == 1);

  for (int i = 0; i < 3; ++i) REQUIRE(RoundTrip(port, "lent") == "lent");
  CHECK(tunnels_opened == 0);  // the agent accepted them

  agent->Stop();  // its VM went down: the VM manager accepts and tunnels
  REQUIRE(RoundTrip(port, "here") == "here");
  CHECK(tunnels_opened >= 1);

  agent = std::make_unique<switchyard::agent::HandoffServer>();
  REQUIRE(agent->Start(handoff_socket).ok());
  // Offered again within a second or so; then connections stop using the tunnel.
  bool lent_again = false;
  for (int i = 0; i < 50 && !lent_again; ++i) {
    const int before = tunnels_opened;
    REQUIRE(RoundTrip(port, "back") == "back");
    lent_again = tunnels_opened == before;
    if (!lent_again) ::usleep(100 * 1000);
  }
  CHECK(lent_again);

  // A changed route is lent again with its new target (where nothing
  // listens, so connections are closed unanswered).
  REQUIRE(forwarder->Sync({Tcp(port, FreePort())}).bound == 1);
  bool moved = false;
  for (int i = 0; i < 50 && !moved; ++i) {
    moved = RoundTrip(port, "moved").empty();
    if (!moved) ::usleep(100 * 1000);
  }
  CHECK(moved);

  // Released: the port is free at once, though the agent held a copy.
  REQUIRE(forwarder->Sync({}).bound == 0);
  CHECK(ConnectTcp("127.0.0.1", port) < 0);
  int rebound = BoundSocket(SOCK_STREAM, "127.0.0.1", port);
  CHECK(rebound >= 0);
  if (rebound >= 0) ::close(rebound);
  forwarder.reset();
  agent->Stop();
  tunnels.Stop();
  fs::remove_all(dir);
}
