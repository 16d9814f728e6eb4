#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchyard::http {

// Docker's multiplexed stream framing (moby pkg/stdcopy): an 8-byte header
// [stream, 0, 0, 0, big-endian uint32 length] before each payload.
enum class StdStream : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kSystemErr = 3 };

std::string EncodeStdFrame(StdStream stream, absl::string_view payload);

struct StdFrame {
  StdStream stream;
  std::string payload;
};

// Incremental decoder: feed bytes as they arrive, take whole frames out.
class StdcopyDecoder {
 public:
  // Returns InvalidArgument on a header with an unknown stream byte.
  absl::Status Feed(absl::string_view bytes, std::vector<StdFrame>& frames);
  size_t buffered() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

}  // namespace switchyard::http
