#include "libs/stream_mux/mux_frame.h"

#include <algorithm>

namespace switchyard::stream_mux {
namespace {

constexpr char kMagic0 = 'S';
constexpr char kMagic1 = 'Y';
constexpr absl::string_view kHelloTag = "sy-mux/1";

void AppendU32(uint32_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

uint32_t LoadU32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string HelloHeader(FrameType type) {
  std::string header = {kMagic0, kMagic1, static_cast<char>(type), 0};
  AppendU32(0, &header);
  AppendU32(kHelloPayloadSize, &header);
  return header;
}

}  // namespace

void AppendFrame(FrameType type, uint32_t stream, absl::string_view payload, std::string* out) {
  out->push_back(kMagic0);
  out->push_back(kMagic1);
  out->push_back(static_cast<char>(type));
  out->push_back(0);
  AppendU32(stream, out);
  AppendU32(static_cast<uint32_t>(payload.size()), out);
  out->append(payload.data(), payload.size());
}

std::string U32Payload(uint32_t value) {
  std::string out;
  AppendU32(value, &out);
  return out;
}

uint32_t ReadU32Payload(absl::string_view payload) {
  return payload.size() == 4 ? LoadU32(payload.data()) : 0;
}

std::string HelloPayload(uint64_t epoch) {
  std::string out;
  AppendU32(static_cast<uint32_t>(epoch >> 32), &out);
  AppendU32(static_cast<uint32_t>(epoch), &out);
  out.append(kHelloTag.data(), kHelloTag.size());
  return out;
}

bool ReadHelloPayload(absl::string_view payload, uint64_t* epoch) {
  if (payload.size() != kHelloPayloadSize || payload.substr(8) != kHelloTag) return false;
  *epoch = static_cast<uint64_t>(LoadU32(payload.data())) << 32 | LoadU32(payload.data() + 4);
  return true;
}

void FrameDecoder::Feed(absl::string_view bytes) {
  Compact();
  buffer_.append(bytes.data(), bytes.size());
}

FrameDecoder::Result FrameDecoder::Next(Frame* frame) {
  if (buffered() < kHeaderSize) return Result::kNeedMore;
  const char* h = buffer_.data() + offset_;
  const auto type = static_cast<uint8_t>(h[2]);
  if (h[0] != kMagic0 || h[1] != kMagic1 || h[3] != 0 || type < static_cast<uint8_t>(FrameType::kHello) ||
      type > static_cast<uint8_t>(FrameType::kLinkReset)) {
    return Result::kCorrupt;
  }
  const uint32_t length = LoadU32(h + 8);
  if (length > kMaxPayload) return Result::kCorrupt;
  if (buffered() < kHeaderSize + length) return Result::kNeedMore;
  frame->type = static_cast<FrameType>(type);
  frame->stream = LoadU32(h + 4);
  frame->payload.assign(h + kHeaderSize, length);
  offset_ += kHeaderSize + length;
  return Result::kFrame;
}

bool FrameDecoder::SkipTo(FrameType type) {
  const std::string header = HelloHeader(type);
  absl::string_view rest(buffer_.data() + offset_, buffered());
  size_t at = rest.find(header);
  if (at != absl::string_view::npos) {
    offset_ += at;
    return true;
  }
  // Keep the longest tail that could begin the header.
  size_t keep = std::min(rest.size(), header.size() - 1);
  while (keep > 0 && rest.substr(rest.size() - keep) != absl::string_view(header).substr(0, keep)) --keep;
  offset_ += rest.size() - keep;
  return false;
}

void FrameDecoder::Clear() {
  buffer_.clear();
  offset_ = 0;
}

void FrameDecoder::Compact() {
  if (offset_ == 0) return;
  buffer_.erase(0, offset_);
  offset_ = 0;
}

}  // namespace switchyard::stream_mux
