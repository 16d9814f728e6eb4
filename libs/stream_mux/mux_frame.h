#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace switchyard::stream_mux {

// Frames of many streams over one byte stream (a virtio-serial port):
//   'S' 'Y' type 0 | stream u32 BE | length u32 BE | payload
// The fixed two bytes and the bounded length catch a reader that lost its
// place; the link is then reset rather than misread.
enum class FrameType : uint8_t {
  kHello = 1,      // opener -> acceptor: a new link session (payload: epoch)
  kHelloAck = 2,   // acceptor -> opener: the same payload back
  kOpen = 3,       // opener -> acceptor: stream opened to port (payload: u32 BE port)
  kData = 4,       // bytes of a stream, within the receiver's credit
  kCredit = 5,     // receiver has passed on this many more bytes (u32 BE)
  kEof = 6,        // the sender's side of the stream will send no more
  kReset = 7,      // the stream is gone, both ways
  kLinkReset = 8,  // acceptor lost its place in the link: start a new session
};

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxPayload = 64 * 1024;
inline constexpr size_t kHelloPayloadSize = 16;

struct Frame {
  FrameType type = FrameType::kData;
  uint32_t stream = 0;
  std::string payload;
};

void AppendFrame(FrameType type, uint32_t stream, absl::string_view payload, std::string* out);
std::string U32Payload(uint32_t value);
// 0 when `payload` is not 4 bytes.
uint32_t ReadU32Payload(absl::string_view payload);
// The epoch and a tag naming the protocol, so a hello found by scanning
// the bytes is ours.
std::string HelloPayload(uint64_t epoch);
// False when `payload` is not a hello of this protocol.
bool ReadHelloPayload(absl::string_view payload, uint64_t* epoch);

class FrameDecoder {
 public:
  enum class Result { kFrame, kNeedMore, kCorrupt };

  void Feed(absl::string_view bytes);
  Result Next(Frame* frame);
  // Drops bytes up to the next header of a `type` (kHello or kHelloAck)
  // frame; true once one is at the front, then Next returns it. Keeps a
  // partial match at the end for the bytes still to come.
  bool SkipTo(FrameType type);
  void Clear();
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  void Compact();

  std::string buffer_;
  size_t offset_ = 0;
};

}  // namespace switchyard::stream_mux
