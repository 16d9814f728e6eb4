#include "services/gateway/http_connection.h"

#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "libs/http/docker_error.h"

namespace switchyard::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr size_t kHeaderLimit = 1 << 20;

HttpConnection::HttpConnection(Socket socket) : socket_(std::move(socket)) {}

bool HttpConnection::ReadRequest(Request& request) {
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(boost::none);
  head_sent_ = false;
  beast::error_code ec;
  bhttp::read_header(socket_, buffer_, *parser_, ec);
  if (ec) {
    if (ec == bhttp::error::header_limit) {
      // Go's net/http answer to a head over its 1 MiB default, as dockerd gives.
      WriteRaw(
          "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\n\r\n431 Request Header Fields Too Large");
    } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
               ec != asio::error::connection_reset) {
      // What Go's net/http answers to a request it cannot parse.
      WriteRaw(
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Connection: close\r\n\r\n400 Bad Request");
    }
    return false;
  }
  auto& msg = parser_->get();
  request = Request{};
  request.method = std::string(msg.method_string());
  head_request_ = request.method == "HEAD";
  request.target = std::string(msg.target());
  request.api = http::ParseTarget(request.target);
  request.keep_alive = msg.keep_alive();
  for (const auto& field : msg) {
    const std::string name(field.name_string());
    if (absl::EqualsIgnoreCase(name, "connection") &&
        absl::StrContains(absl::AsciiStrToLower(std::string(field.value())), "upgrade")) {
      request.upgrade = true;
    }
    if (absl::EqualsIgnoreCase(name, "upgrade")) request.upgrade_protocol = std::string(field.value());
    if (http::IsHopByHop(name)) continue;
    request.headers.emplace_back(name, std::string(field.value()));
  }
  if (parser_->chunked()) {
    request.content_length = -1;
  } else {
    request.content_length = static_cast<int64_t>(parser_->content_length().value_or(0));
  }
  return true;
}

bool HttpConnection::ReadBody(const std::function<bool(absl::string_view)>& sink) {
  if (!parser_ || parser_->is_done()) return true;
  std::string chunk(256 * 1024, '\0');
  auto& body = parser_->get().body();
  while (!parser_->is_done()) {
    body.data = chunk.data();
    body.size = chunk.size();
    beast::error_code ec;
    bhttp::read_some(socket_, buffer_, *parser_, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    size_t n = chunk.size() - body.size;
    if (n > 0 && !sink(absl::string_view(chunk.data(), n))) return false;
    if (ec) return false;
  }
  return true;
}

bool HttpConnection::ReadWholeBody(std::string& body, size_t limit) {
  bool ok = ReadBody([&](absl::string_view piece) {
    body.append(piece.data(), piece.size());
    return body.size() <= limit;
  });
  return ok && body.size() <= limit;
}

bool HttpConnection::WriteRaw(absl::string_view data) {
  beast::error_code ec;
  asio::write(socket_, asio::buffer(data.data(), data.size()), ec);
  return !ec;
}

void HttpConnection::WriteWhole(int status, const http::HeaderList& headers, absl::string_view body) {
  head_sent_ = true;
  std::string out = http::EncodeResponseHead(status, headers, http::BodyFraming::kContentLength, body.size());
  // An answer to HEAD has the length of the body GET would get, and no body.
  if (!head_request_) out.append(body.data(), body.size());
  WriteRaw(out);
}

void HttpConnection::WriteError(const absl::Status& status) {
  if (head_sent_) return;
  WriteWhole(http::HttpStatusFor(status.code()), {{"Content-Type", "application/json"}},
             http::ErrorBody(status.message()));
}

void HttpConnection::StartChunked(int status, const http::HeaderList& headers) {
  head_sent_ = true;
  WriteRaw(http::EncodeResponseHead(status, headers, http::BodyFraming::kChunked));
}

void HttpConnection::StartFixed(int status, const http::HeaderList& headers, size_t length) {
  head_sent_ = true;
  WriteRaw(http::EncodeResponseHead(status, headers, http::BodyFraming::kContentLength, length));
}

bool HttpConnection::WriteChunk(absl::string_view data) {
  if (data.empty()) return true;
  return WriteRaw(http::EncodeChunk(data));
}

void HttpConnection::EndChunked() { WriteRaw(http::kLastChunk); }

std::string HttpConnection::TakeBuffered() {
  std::string out(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  buffer_.consume(buffer_.size());
  return out;
}

}  // namespace switchyard::gateway
