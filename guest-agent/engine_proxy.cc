#include "guest-agent/engine_proxy.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "guest-agent/cancel_watcher.h"
#include "libs/http/http_codec.h"

namespace switchyard::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using switchyard::types::v1::EngineFrame;
using switchyard::types::v1::EngineRequestHead;
using Socket = asio::local::stream_protocol::socket;

constexpr size_t kChunkSize = 256 * 1024;


bool IsRawStream(absl::string_view content_type) {
  return absl::StartsWith(content_type, "application/vnd.docker.raw-stream") ||
         absl::StartsWith(content_type, "application/vnd.docker.multiplexed-stream");
}


// Sends the request body: exactly content_length bytes, or, for a chunked
// body, every frame until the caller half-closes.
bool SendBody(EngineStream& stream, Socket& socket, int64_t content_length) {
  boost::system::error_code ec;
  EngineFrame frame;
  if (content_length >= 0) {
    int64_t remaining = content_length;
    while (remaining > 0 && stream.Read(&frame)) {
      if (!frame.has_data()) continue;
      remaining -= static_cast<int64_t>(frame.data().size());
      asio::write(socket, asio::buffer(frame.data()), ec);
      if (ec) return false;
    }
    return remaining <= 0;
  }
  while (stream.Read(&frame)) {
    if (!frame.has_data() || frame.data().empty()) continue;
    asio::write(socket, asio::buffer(http::EncodeChunk(frame.data())), ec);
    if (ec) return false;
  }
  asio::write(socket, asio::buffer(http::kLastChunk.data(), http::kLastChunk.size()), ec);
  return !ec;
}

// Both directions carry raw bytes until dockerd closes its side.
void PumpHijacked(grpc::ServerContext& context, EngineStream& stream, Socket& socket) {
  std::atomic<bool> input_ended{false};
  std::thread input([&] {
    EngineFrame frame;
    boost::system::error_code ec;
    while (stream.Read(&frame)) {
      if (!frame.has_data()) continue;
      asio::write(socket, asio::buffer(frame.data()), ec);
      if (ec) break;
    }
    input_ended = true;
    // The client closed its input (stdin EOF): pass the half-close on.
    socket.shutdown(asio::socket_base::shutdown_send, ec);
  });
  std::string buffer(kChunkSize, '\0');
  EngineFrame out;
  for (;;) {
    boost::system::error_code ec;
    size_t n = socket.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
    if (n > 0) {
      out.set_data(buffer.data(), n);
      if (!stream.Write(out)) break;
    }
    if (ec) break;
  }
  if (!input_ended) context.TryCancel();
  input.join();
}

}  // namespace

std::string EncodeDockerdRequestHead(const EngineRequestHead& head) {
  std::string out = absl::StrCat(head.method(), " ", head.target(), " HTTP/1.1\r\nHost: docker\r\n");
  for (const auto& h : head.headers()) {
    if (http::IsHopByHop(h.name()) || absl::EqualsIgnoreCase(h.name(), "host")) continue;
    absl::StrAppend(&out, h.name(), ": ", h.value(), "\r\n");
  }
  if (head.content_length() >= 0) {
    absl::StrAppend(&out, "Content-Length: ", head.content_length(), "\r\n");
  } else {
    absl::StrAppend(&out, "Transfer-Encoding: chunked\r\n");
  }
  if (head.upgrade()) {
    absl::StrAppend(&out, "Connection: Upgrade\r\nUpgrade: ",
                    head.upgrade_protocol().empty() ? "tcp" : head.upgrade_protocol(), "\r\n");
  }
  absl::StrAppend(&out, "\r\n");
  return out;
}

grpc::Status ServeEngineCall(grpc::ServerContext& context, EngineStream& stream,
                             const std::string& docker_socket) {
  EngineFrame first;
  if (!stream.Read(&first) || !first.has_request()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "engine call without a request head");
  }
  const EngineRequestHead& head = first.request();
  asio::io_context io;
  Socket socket(io);
  boost::system::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(docker_socket), ec);
  if (ec) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("guest dockerd is not answering: ", ec.message()));
  }
  auto watch = CancelWatcher::Instance().Watch(context, socket.native_handle());
  asio::write(socket, asio::buffer(EncodeDockerdRequestHead(head)), ec);
  if (ec || !SendBody(stream, socket, head.content_length())) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "guest dockerd closed the connection");
  }

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  if (head.method() == "HEAD") parser.skip(true);
  bhttp::read_header(socket, buffer, parser, ec);
  if (ec) {
    if (context.IsCancelled()) return grpc::Status::CANCELLED;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("guest dockerd sent no answer: ", ec.message()));
  }
  auto& response = parser.get();
  const int status = static_cast<int>(response.result_int());
  const bool hijacked =
      status == 101 || (head.upgrade() && IsRawStream(std::string(response[bhttp::field::content_type])));

  EngineFrame out;
  auto* out_head = out.mutable_response();
  out_head->set_status(status);
  out_head->set_hijacked(hijacked);
  int64_t length = -1;  // streams: chunked or until close
  if (!hijacked && parser.content_length()) length = static_cast<int64_t>(*parser.content_length());
  if (!hijacked && parser.is_done()) length = 0;  // 204, 304, HEAD
  out_head->set_content_length(length);
  for (const auto& field : response) {
    if (http::IsHopByHop(std::string(field.name_string()))) continue;
    auto* h = out_head->add_headers();
    h->set_name(std::string(field.name_string()));
    h->set_value(std::string(field.value()));
  }
  if (!stream.Write(out)) return grpc::Status::CANCELLED;

  if (hijacked) {
    // Bytes read past the head already belong to the raw stream.
    if (buffer.size() > 0) {
      out.set_data(static_cast<const char*>(buffer.data().data()), buffer.size());
      buffer.consume(buffer.size());
      if (!stream.Write(out)) return grpc::Status::CANCELLED;
    }
    PumpHijacked(context, stream, socket);
    return grpc::Status::OK;
  }

  std::string chunk(kChunkSize, '\0');
  while (!parser.is_done()) {
    response.body().data = chunk.data();
    response.body().size = chunk.size();
    bhttp::read_some(socket, buffer, parser, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    size_t n = chunk.size() - response.body().size;
    if (n > 0) {
      out.set_data(chunk.data(), n);
      if (!stream.Write(out)) return grpc::Status::CANCELLED;
    }
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) break;
      if (context.IsCancelled()) return grpc::Status::CANCELLED;
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("guest dockerd stream broke: ", ec.message()));
    }
  }
  return grpc::Status::OK;
}

}  // namespace switchyard::agent
