#include "libs/tunnel/tunnel_header.h"

#include <catch2/catch.hpp>

#include "libs/tunnel/frame_codec.h"

using switchyard::tunnel::FormatHeader;
using switchyard::tunnel::FormatReply;
using switchyard::tunnel::ParseHeader;
using switchyard::tunnel::ParseReply;
using switchyard::tunnel::Protocol;
using switchyard::tunnel::TunnelTarget;

TEST_CASE("tunnel headers round-trip", "[tunnel][unit]") {
  REQUIRE(FormatHeader({Protocol::kTcp, "", 80}) == "tcp 0.0.0.0 80\n");
  REQUIRE(FormatHeader({Protocol::kUdp, "::", 53}) == "udp :: 53\n");
  auto t = ParseHeader("tcp 10.0.2.100 8080");
  REQUIRE(t.ok());
  REQUIRE(*t == TunnelTarget{Protocol::kTcp, "10.0.2.100", 8080});
  REQUIRE(*ParseHeader("udp ::1 65535") == TunnelTarget{Protocol::kUdp, "::1", 65535});
  REQUIRE(*ParseHeader("tcp 0.0.0.0 1") == TunnelTarget{Protocol::kTcp, "0.0.0.0", 1});
}

TEST_CASE("tunnel headers are parsed strictly", "[tunnel][unit]") {
  for (const char* bad : {"",
                          "tcp",
                          "tcp 127.0.0.1",
                          "tcp 127.0.0.1 80 extra",
                          "tcp  127.0.0.1 80",
                          "tcp 127.0.0.1 80 ",
                          "TCP 127.0.0.1 80",
                          "sctp 127.0.0.1 80",
                          "tcp localhost 80",
                          "tcp 127.0.0.1 0",
                          "tcp 127.0.0.1 65536",
                          "tcp 127.0.0.1 -1",
                          "tcp 127.0.0.1 +80",
                          "tcp 127.0.0.1 080000",
                          "tcp 127.0.0.1 8o",
                          "tcp 127.0.0.1 80\r",
                          "tcp [::1] 80",
                          "tcp 127.0.0.1\t80",
                          "tcp 1.2.3.4.5 80",
                          "udp 127.0.0.1 99999999999999999999"}) {
    INFO(bad);
    REQUIRE_FALSE(ParseHeader(bad).ok());
  }
  REQUIRE_FALSE(ParseHeader(std::string(200, 'a')).ok());
  REQUIRE_FALSE(ParseHeader(std::string("tcp 127.0.0.1 80\0", 17)).ok());
}

TEST_CASE("tunnel replies", "[tunnel][unit]") {
  REQUIRE(FormatReply(absl::OkStatus()) == "OK\n");
  REQUIRE(FormatReply(absl::UnavailableError("dial tcp 1.2.3.4:80: connect: connection refused")) ==
          "ERR dial tcp 1.2.3.4:80: connect: connection refused\n");
  std::string long_reply = FormatReply(absl::InternalError(std::string(500, 'x') + "\nmore"));
  REQUIRE(long_reply.size() <= switchyard::tunnel::kMaxLineLength);
  REQUIRE(long_reply.find('\n') == long_reply.size() - 1);
  REQUIRE(ParseReply("OK").ok());
  auto err = ParseReply("ERR connection refused");
  REQUIRE(absl::IsUnavailable(err));
  REQUIRE(err.message() == "connection refused");
  REQUIRE(absl::IsInternal(ParseReply("HTTP/1.1 200 OK")));
}

TEST_CASE("UDP frames survive any split of the stream", "[tunnel][unit]") {
  std::string stream;
  switchyard::tunnel::AppendFrame("hello", &stream);
  switchyard::tunnel::AppendFrame("", &stream);
  switchyard::tunnel::AppendFrame(std::string(70000, 'z'), &stream);  // capped at 65535
  REQUIRE(stream.substr(0, 2) == std::string("\x00\x05", 2));
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{4096}, stream.size()}) {
    switchyard::tunnel::FrameDecoder decoder;
    std::vector<std::string> got;
    for (size_t off = 0; off < stream.size(); off += chunk) {
      decoder.Feed(absl::string_view(stream).substr(off, chunk));
      std::string payload;
      while (decoder.Next(&payload)) got.push_back(payload);
    }
    REQUIRE(got.size() == 3);
    REQUIRE(got[0] == "hello");
    REQUIRE(got[1].empty());
    REQUIRE(got[2] == std::string(65535, 'z'));
    REQUIRE(decoder.pending() == 0);
  }
}
