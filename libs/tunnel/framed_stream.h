#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/tunnel/frame_codec.h"

namespace switchyard::tunnel {

// The non-blocking end of a tunnel stream that carries UDP datagrams. Owns
// nothing: the caller polls the fd (POLLIN, and POLLOUT while WantsWrite())
// and closes it.
class FramedStream {
 public:
  // Datagrams queued beyond this are dropped, as a full UDP buffer would.
  static constexpr size_t kMaxQueued = 1 << 20;

  explicit FramedStream(int fd) : fd_(fd) {}

  int fd() const { return fd_; }
  // Reads what is there and appends the whole datagrams to `out`.
  // OUT_OF_RANGE at a clean EOF, UNAVAILABLE on a socket error.
  absl::Status Read(std::vector<std::string>* out);
  // Queues one datagram and tries to send; false when dropped (queue full).
  bool Send(absl::string_view payload);
  // Sends what is queued without blocking.
  absl::Status Flush();
  bool WantsWrite() const { return sent_ < queued_.size(); }

 private:
  int fd_;
  FrameDecoder decoder_;
  std::string queued_;
  size_t sent_ = 0;
};

}  // namespace switchyard::tunnel
