#include "libs/tunnel/frame_codec.h"

namespace switchyard::tunnel {

void AppendFrame(absl::string_view payload, std::string* out) {
  size_t n = payload.size() > kMaxDatagram ? kMaxDatagram : payload.size();
  out->push_back(static_cast<char>((n >> 8) & 0xff));
  out->push_back(static_cast<char>(n & 0xff));
  out->append(payload.data(), n);
}

void FrameDecoder::Feed(absl::string_view bytes) {
  // Drop what was consumed before growing, so the buffer stays small.
  if (offset_ > 0 && offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ > 64 * 1024) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

bool FrameDecoder::Next(std::string* payload) {
  if (pending() < 2) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + offset_);
  size_t n = (static_cast<size_t>(p[0]) << 8) | p[1];
  if (pending() < 2 + n) return false;
  payload->assign(buffer_.data() + offset_ + 2, n);
  offset_ += 2 + n;
  return true;
}

}  // namespace switchyard::tunnel
