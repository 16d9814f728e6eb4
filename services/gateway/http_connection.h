#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/http/api_target.h"
#include "libs/http/http_codec.h"

namespace switchyard::gateway {

using Socket = boost::asio::local::stream_protocol::socket;

// One parsed Docker API request, its body still on the wire.
struct Request {
  std::string method;
  std::string target;  // as the client sent it
  http::ApiTarget api;
  http::HeaderList headers;  // end-to-end headers only
  int64_t content_length = 0;  // -1: chunked
  bool upgrade = false;        // Connection: Upgrade
  std::string upgrade_protocol;  // its Upgrade header: "tcp", "h2c"
  bool keep_alive = true;
};

// A client connection: reads requests with Beast, writes Docker's responses
// byte for byte (content-length, chunked, or hijacked raw).
class HttpConnection {
 public:
  explicit HttpConnection(Socket socket);

  // Reads the next request head. False when the client is gone or sent
  // garbage (answered with 400 and closed).
  bool ReadRequest(Request& request);
  // Reads the body in pieces; `sink` gets each piece. False on a broken body.
  bool ReadBody(const std::function<bool(absl::string_view)>& sink);
  bool ReadWholeBody(std::string& body, size_t limit);

  void WriteWhole(int status, const http::HeaderList& headers, absl::string_view body);
  void WriteError(const absl::Status& status);
  void StartChunked(int status, const http::HeaderList& headers);
  void StartFixed(int status, const http::HeaderList& headers, size_t length);
  bool WriteChunk(absl::string_view data);
  void EndChunked();
  bool WriteRaw(absl::string_view data);
  // Bytes read past the request, which belong to a hijacked stream.
  std::string TakeBuffered();

  Socket& socket() { return socket_; }
  int fd() { return socket_.native_handle(); }
  bool head_sent() const { return head_sent_; }
  void MarkClosed() { closed_ = true; }
  bool closed() const { return closed_; }

 private:
  Socket socket_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> parser_;
  bool head_sent_ = false;
  bool head_request_ = false;  // the request being answered is a HEAD
  bool closed_ = false;
};

}  // namespace switchyard::gateway
