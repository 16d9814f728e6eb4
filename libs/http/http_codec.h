#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace switchyard::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The reason phrase dockerd (Go's net/http) writes for a status; 101 is
// Docker's own "UPGRADED".
absl::string_view ReasonPhrase(int status);

// Connection-level headers that never cross a hop.
bool IsHopByHop(absl::string_view header_name);

enum class BodyFraming {
  kContentLength,  // `content_length` bytes follow
  kChunked,        // Transfer-Encoding: chunked
  kRaw,            // hijacked or until close: no framing header
};

// "HTTP/1.1 200 OK\r\n…\r\n\r\n", with the framing header for `framing`. A
// raw 101 names the protocol the connection was upgraded to.
std::string EncodeResponseHead(int status, const HeaderList& headers, BodyFraming framing,
                               size_t content_length = 0, absl::string_view upgrade_protocol = "tcp");

// One HTTP/1.1 chunk ("1a\r\n…\r\n"); empty data is not allowed (it would end the body).
std::string EncodeChunk(absl::string_view data);
inline constexpr absl::string_view kLastChunk = "0\r\n\r\n";

}  // namespace switchyard::http
