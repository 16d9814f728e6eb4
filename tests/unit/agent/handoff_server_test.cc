#include "guest-agent/handoff_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <deque>
#include <filesystem>
#include <functional>

#include "libs/tunnel/handoff.h"
#include "libs/tunnel/sockets.h"
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
  }
  ~HandoffFixture() {
    for (const Loan& loan : loans) {
      if (loan.channel >= 0) ::close(loan.channel);
      ::close(loan.listener);
    }
    server->Stop();
    fs::remove_all(dir);
  }

  // A host listener lent to the server for connections to guest `port`, as
  // the VM manager lends it.
  struct Loan {
    int listener = -1;
    int port = 0;  // where clients connect
    int channel = -1;
  };
  Loan& Lend(int guest_port) {
    Loan loan;
    loan.listener = BoundSocket(SOCK_STREAM, "127.0.0.1", 0);
    REQUIRE(loan.listener >= 0);
    REQUIRE(::listen(loan.listener, 16) == 0);
    REQUIRE(tunnel::SetNonBlocking(loan.listener, true).ok());
    loan.port = LocalPort(loan.listener);
    auto channel = tunnel::ConnectHandoff(socket, absl::Seconds(1));
    REQUIRE(channel.ok());
    loan.channel = *channel;
    REQUIRE(tunnel::SendHandoff(loan.channel, {tunnel::Protocol::kTcp, "127.0.0.1", guest_port}, loan.listener).ok());
    loans.push_back(loan);
    return loans.back();
  }

  fs::path dir;
  std::string socket;
  std::unique_ptr<HandoffServer> server;
  std::deque<Loan> loans;  // references stay valid as loans are added
};

// Descriptors of this process open on the same socket as `fd`.
int CopiesOf(int fd) {
  const std::string target = fs::read_symlink("/proc/self/fd/" + std::to_string(fd)).string();
  int copies = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(entry.path(), ec).string() == target) ++copies;
  }
  return copies;
}

bool Eventually(const std::function<bool()>& check) {
  for (int i = 0; i < 500; ++i) {
    if (check()) return true;
    ::usleep(10 * 1000);
  }
  return check();
}

// True when `fd` reports end of stream within `ms`.
bool ClosedWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return false;
  char byte;
  return ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0;
}

}  // namespace

TEST_CASE("connections to a lent listener reach its target in the guest, half-close included", "[agent][unit]") {
  TcpEchoServer echo;
  HandoffFixture f;
  const int port = f.Lend(echo.port()).port;
  for (int i = 0; i < 3; ++i) CHECK(RoundTrip(port, "lent") == "lent");  // one loan serves many connections
}

TEST_CASE("a connection whose guest target refuses is closed", "[agent][unit]") {
  HandoffFixture f;
  int client = ConnectTcp("127.0.0.1", f.Lend(FreePort()).port);
  REQUIRE(client >= 0);
  CHECK(ReadToEof(client, 5000).empty());
  ::close(client);
}

TEST_CASE("closing the channel ends the loan: the agent lets go of the listener", "[agent][unit]") {
  TcpEchoServer echo;
  HandoffFixture f;
  HandoffFixture::Loan& loan = f.Lend(echo.port());
  REQUIRE(Eventually([&] { return CopiesOf(loan.listener) == 2; }));  // the agent's copy and ours
  ::close(loan.channel);
  loan.channel = -1;
  CHECK(Eventually([&] { return CopiesOf(loan.listener) == 1; }));
  // Still listening, for the VM manager alone.
  int client = ConnectTcp("127.0.0.1", loan.port);
  REQUIRE(client >= 0);
  pollfd p{loan.listener, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  int accepted = ::accept(loan.listener, nullptr, nullptr);
  CHECK(accepted >= 0);
  ::close(accepted);
  ::close(client);
}

TEST_CASE("a listener shut down by the VM manager ends the loan and closes the channel", "[agent][unit]") {
  TcpEchoServer echo;
  HandoffFixture f;
  HandoffFixture::Loan& loan = f.Lend(echo.port());
  REQUIRE(Eventually([&] { return CopiesOf(loan.listener) == 2; }));
  ::shutdown(loan.listener, SHUT_RDWR);
  CHECK(ClosedWithin(loan.channel, 5000));
  CHECK(Eventually([&] { return CopiesOf(loan.listener) == 1; }));
}

TEST_CASE("stopping the handoff server ends connections and loans, and leaves the listener listening",
          "[agent][unit]") {
  TcpEchoServer echo;
  HandoffFixture f;
  HandoffFixture::Loan& loan = f.Lend(echo.port());
  int client = ConnectTcp("127.0.0.1", loan.port);
  REQUIRE(client >= 0);
  REQUIRE(SendAll(client, "x", 1));
  f.server->Stop();
  CHECK(ReadToEof(client, 5000).size() <= 1);  // ended, not held open
  ::close(client);
  CHECK(ClosedWithin(loan.channel, 5000));
  CHECK(CopiesOf(loan.listener) == 1);
  int listening = 0;
  socklen_t size = sizeof(listening);
  REQUIRE(::getsockopt(loan.listener, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0);
  CHECK(listening == 1);
}
