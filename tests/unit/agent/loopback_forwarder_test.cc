#include "guest-agent/loopback_forwarder.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/tunnel/echo_servers.h"

TEST_CASE("loopback forward port lists", "[agent][unit]") {
  using switchyard::agent::ParsePorts;
  REQUIRE(ParsePorts("")->empty());
  REQUIRE(*ParsePorts("5000") == std::vector<int>{5000});
  REQUIRE(*ParsePorts("5000, 5001,") == std::vector<int>{5000, 5001});
  REQUIRE_FALSE(ParsePorts("abc").ok());
  REQUIRE_FALSE(ParsePorts("0").ok());
  REQUIRE_FALSE(ParsePorts("70000").ok());
}

TEST_CASE("a forwarded loopback port carries a connection both ways, half-close included", "[agent][unit]") {
  using namespace switchyard::testing;
  TcpEchoServer upstream("127.0.0.2");  // stands in for the host's loopback, on the same port number
  switchyard::agent::LoopbackForwarder forwarder("127.0.0.2");
  REQUIRE(forwarder.Start({upstream.port()}).ok());
  for (int i = 0; i < 3; ++i) {
    const std::string data(200000, static_cast<char>('a' + i));
    CHECK(RoundTrip(upstream.port(), data) == data);
  }
  forwarder.Stop();
  CHECK(ConnectTcp("127.0.0.1", upstream.port()) < 0);
}

TEST_CASE("stopping the loopback forwarder ends live connections", "[agent][unit]") {
  using namespace switchyard::testing;
  TcpEchoServer upstream("127.0.0.2");
  switchyard::agent::LoopbackForwarder forwarder("127.0.0.2");
  REQUIRE(forwarder.Start({upstream.port()}).ok());
  int client = ConnectTcp("127.0.0.1", upstream.port());
  REQUIRE(client >= 0);
  REQUIRE(SendAll(client, "x", 1));
  char c;
  REQUIRE(::read(client, &c, 1) == 1);  // through
  forwarder.Stop();
  CHECK(ReadToEof(client, 5000).empty());  // ended, not held open
  ::close(client);
}
