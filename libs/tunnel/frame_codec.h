#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace switchyard::tunnel {

// UDP datagrams on a tunnel stream: [u16 big-endian length][payload], both
// ways. A zero-length frame is a valid (empty) datagram.
inline constexpr size_t kMaxDatagram = 65535;

// Appends one frame carrying `payload` (at most kMaxDatagram bytes).
void AppendFrame(absl::string_view payload, std::string* out);

// Cuts a byte stream back into datagrams.
class FrameDecoder {
 public:
  void Feed(absl::string_view bytes);
  // The next whole datagram, if one has arrived.
  bool Next(std::string* payload);
  // Bytes of an incomplete frame still waiting for the rest.
  size_t pending() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

}  // namespace switchyard::tunnel
