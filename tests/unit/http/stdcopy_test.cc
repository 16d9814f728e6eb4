#include "libs/http/stdcopy.h"

#include <catch2/catch.hpp>

namespace switchyard::http {

TEST_CASE("stdcopy frames match the CLI's wire bytes", "[http][unit]") {
  CHECK(EncodeStdFrame(StdStream::kStdout, "hi\n") == std::string("\x01\0\0\0\0\0\0\x03hi\n", 11));
  std::string big(70000, 'z');
  std::string framed = EncodeStdFrame(StdStream::kStderr, big);
  CHECK(static_cast<uint8_t>(framed[0]) == 2);
  CHECK(static_cast<uint8_t>(framed[5]) == 0x01);
  CHECK(static_cast<uint8_t>(framed[6]) == 0x11);
  CHECK(static_cast<uint8_t>(framed[7]) == 0x70);
}

TEST_CASE("the decoder reassembles frames split anywhere", "[http][unit]") {
  std::string wire = EncodeStdFrame(StdStream::kStdout, "hello") + EncodeStdFrame(StdStream::kStderr, "oops") +
                     EncodeStdFrame(StdStream::kStdout, "");
  for (size_t step = 1; step <= wire.size(); ++step) {
    StdcopyDecoder decoder;
    std::vector<StdFrame> frames;
    for (size_t i = 0; i < wire.size(); i += step) REQUIRE(decoder.Feed(wire.substr(i, step), frames).ok());
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].payload == "hello");
    CHECK(frames[1].stream == StdStream::kStderr);
    CHECK(frames[1].payload == "oops");
    CHECK(frames[2].payload.empty());
    CHECK(decoder.buffered() == 0);
  }
}

TEST_CASE("an unknown stream byte is an error, not a crash", "[http][unit]") {
  StdcopyDecoder decoder;
  std::vector<StdFrame> frames;
  CHECK(decoder.Feed(std::string("\x09\0\0\0\0\0\0\x01x", 9), frames).code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace switchyard::http
