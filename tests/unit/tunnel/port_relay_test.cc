#include "libs/tunnel/port_relay.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "libs/tunnel/sockets.h"

namespace switchyard::tunnel {
namespace {
namespace fs = std::filesystem;

TEST_CASE("a port relay carries each connection to the agent's local socket, both ways", "[tunnel][vsock]") {
  fs::path dir = fs::temp_directory_path() / ("sy-relay-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // The agent's socket: answers "pong:" + what it read, then closes.
  absl::StatusOr<int> agent = ListenUnix((dir / "agent.sock").string());
  REQUIRE(agent.ok());
  std::thread server([fd = *agent] {
    int c = ::accept(fd, nullptr, nullptr);
    char buffer[64];
    ssize_t n = ::read(c, buffer, sizeof(buffer));
    std::string answer = "pong:" + std::string(buffer, n > 0 ? n : 0);
    (void)!::write(c, answer.data(), answer.size());
    ::close(c);
  });
  // Standing in for the vsock listener: any stream socket will do.
  absl::StatusOr<int> front = ListenUnix((dir / "vsock-1024").string());
  REQUIRE(front.ok());
  {
    PortRelay relay;
    const std::string agent_path = (dir / "agent.sock").string();
    relay.Relay(*front, "relay to the agent", [agent_path] { return ConnectUnix(agent_path); });
    absl::StatusOr<int> client = ConnectUnix((dir / "vsock-1024").string());
    REQUIRE(client.ok());
    REQUIRE(::write(*client, "ping", 4) == 4);
    ::shutdown(*client, SHUT_WR);
    std::string got;
    char buffer[64];
    ssize_t n;
    while ((n = ::read(*client, buffer, sizeof(buffer))) > 0) got.append(buffer, n);
    CHECK(got == "pong:ping");
    ::close(*client);
  }
  server.join();
  ::close(*agent);
  // Stopped: the front socket no longer accepts.
  CHECK_FALSE(ConnectUnix((dir / "vsock-1024").string()).ok());
  fs::remove_all(dir);
}

TEST_CASE("a vsock listener is made, or the reason it cannot be is said", "[tunnel][vsock]") {
  absl::StatusOr<int> fd = ListenVsock(1024 + 4000 + (::getpid() % 1000));
  if (fd.ok()) {
    ::close(*fd);
  } else {
    // No vsock transport in this kernel (no vsock modules on a plain host).
    const std::string message(fd.status().message());
    const bool said = message.rfind("vsock socket: ", 0) == 0 || message.rfind("listen on vsock port ", 0) == 0;
    INFO(message);
    CHECK(said);
  }
}

}  // namespace
}  // namespace switchyard::tunnel
