#include "libs/stream_mux/mux_frame.h"

#include <catch2/catch.hpp>

using namespace switchyard::stream_mux;

TEST_CASE("mux frames decode as they were encoded, whatever the cuts", "[stream_mux][unit]") {
  std::string wire;
  AppendFrame(FrameType::kOpen, 7, U32Payload(1024), &wire);
  AppendFrame(FrameType::kData, 7, "hello", &wire);
  AppendFrame(FrameType::kEof, 7, "", &wire);
  FrameDecoder decoder;
  std::vector<Frame> frames;
  for (char c : wire) {  // one byte at a time
    decoder.Feed(absl::string_view(&c, 1));
    Frame frame;
    while (decoder.Next(&frame) == FrameDecoder::Result::kFrame) frames.push_back(frame);
  }
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].type == FrameType::kOpen);
  CHECK(ReadU32Payload(frames[0].payload) == 1024);
  CHECK(frames[1].stream == 7);
  CHECK(frames[1].payload == "hello");
  CHECK(frames[2].type == FrameType::kEof);
  CHECK(decoder.buffered() == 0);
}

TEST_CASE("a mux reader that lost its place says so rather than misread", "[stream_mux][unit]") {
  FrameDecoder decoder;
  Frame frame;
  decoder.Feed("garbage that is not a frame");
  CHECK(decoder.Next(&frame) == FrameDecoder::Result::kCorrupt);

  std::string huge;
  AppendFrame(FrameType::kData, 1, "", &huge);
  huge[8] = 0x7f;  // a length far past the largest payload
  FrameDecoder second;
  second.Feed(huge);
  CHECK(second.Next(&frame) == FrameDecoder::Result::kCorrupt);
}

TEST_CASE("a hello is found after bytes left from an earlier session", "[stream_mux][unit]") {
  std::string wire = "SY\x04";  // the start of a frame cut off by a reconnect
  wire += std::string("\0\0\0\0\x01\0\0\0\x09partial", 16);
  std::string hello;
  AppendFrame(FrameType::kHello, 0, HelloPayload(0x0102030405060708ull), &hello);
  wire += hello;
  FrameDecoder decoder;
  // Fed in two parts, the second cutting the hello's header.
  const size_t cut = wire.size() - hello.size() + 5;
  decoder.Feed(wire.substr(0, cut));
  CHECK_FALSE(decoder.SkipTo(FrameType::kHello));
  decoder.Feed(wire.substr(cut));
  REQUIRE(decoder.SkipTo(FrameType::kHello));
  Frame frame;
  REQUIRE(decoder.Next(&frame) == FrameDecoder::Result::kFrame);
  uint64_t epoch = 0;
  REQUIRE(ReadHelloPayload(frame.payload, &epoch));
  CHECK(epoch == 0x0102030405060708ull);
  // An answer is not a hello.
  CHECK_FALSE(ReadHelloPayload("not sixteen", &epoch));
}
