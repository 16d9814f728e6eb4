#include "libs/http/http_codec.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace switchyard::http {

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 101: return "UPGRADED";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

bool IsHopByHop(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "connection") || absl::EqualsIgnoreCase(name, "keep-alive") ||
         absl::EqualsIgnoreCase(name, "transfer-encoding") ||
         absl::EqualsIgnoreCase(name, "content-length") || absl::EqualsIgnoreCase(name, "upgrade") ||
         absl::EqualsIgnoreCase(name, "te") || absl::EqualsIgnoreCase(name, "trailer") ||
         absl::EqualsIgnoreCase(name, "proxy-connection");
}

std::string EncodeResponseHead(int status, const HeaderList& headers, BodyFraming framing,
                               size_t content_length, absl::string_view upgrade_protocol) {
  std::string out = absl::StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status), "\r\n");
  for (const auto& [name, value] : headers) {
    if (IsHopByHop(name)) continue;
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  switch (framing) {
    case BodyFraming::kContentLength:
      absl::StrAppend(&out, "Content-Length: ", content_length, "\r\n");
      break;
    case BodyFraming::kChunked:
      absl::StrAppend(&out, "Transfer-Encoding: chunked\r\n");
      break;
    case BodyFraming::kRaw:
      if (status == 101) absl::StrAppend(&out, "Connection: Upgrade\r\nUpgrade: ", upgrade_protocol, "\r\n");
      break;
  }
  absl::StrAppend(&out, "\r\n");
  return out;
}

std::string EncodeChunk(absl::string_view data) {
  return absl::StrCat(absl::StrFormat("%x", data.size()), "\r\n", data, "\r\n");
}

}  // namespace switchyard::http
