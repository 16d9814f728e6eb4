#include "libs/http/stdcopy.h"

#include "absl/strings/str_cat.h"

namespace switchyard::http {

std::string EncodeStdFrame(StdStream stream, absl::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  uint32_t n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>((n >> 24) & 0xff);
  out[5] = static_cast<char>((n >> 16) & 0xff);
  out[6] = static_cast<char>((n >> 8) & 0xff);
  out[7] = static_cast<char>(n & 0xff);
  out.append(payload.data(), payload.size());
  return out;
}

absl::Status StdcopyDecoder::Feed(absl::string_view bytes, std::vector<StdFrame>& frames) {
  buffer_.append(bytes.data(), bytes.size());
  size_t pos = 0;
  while (buffer_.size() - pos >= 8) {
    auto type = static_cast<uint8_t>(buffer_[pos]);
    if (type > 3) {
      return absl::InvalidArgumentError(absl::StrCat("unrecognized stdcopy stream: ", type));
    }
    uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>(buffer_[pos + 4])) << 24) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(buffer_[pos + 5])) << 16) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(buffer_[pos + 6])) << 8) |
                 static_cast<uint32_t>(static_cast<uint8_t>(buffer_[pos + 7]));
    if (buffer_.size() - pos - 8 < n) break;
    frames.push_back({static_cast<StdStream>(type), buffer_.substr(pos + 8, n)});
    pos += 8 + n;
  }
  buffer_.erase(0, pos);
  return absl::OkStatus();
}

}  // namespace switchyard::http
