#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <thread>

#include "services/gateway/frame_writer.h"
#include "services/gateway/routes/routes.h"

namespace switchyard::gateway {
namespace {

using types::v1::EngineFrame;
using ForwardStream = grpc::ClientReaderWriterInterface<EngineFrame, EngineFrame>;

// After the engine upgraded the connection: raw bytes both ways. The client's
// half-close (no stdin) is passed on, and output keeps flowing after it.
void PumpHijacked(HttpConnection& conn, grpc::ClientContext& context, ForwardStream& stream,
                  const EngineFrame& head, absl::string_view upgrade_protocol, bool head_written) {
  http::HeaderList headers;
  for (const auto& h : head.response().headers()) headers.emplace_back(h.name(), h.value());
  if (!head_written) {
    conn.WriteRaw(http::EncodeResponseHead(head.response().status(), headers, http::BodyFraming::kRaw, 0,
                                           upgrade_protocol.empty() ? "tcp" : upgrade_protocol));
  }
  std::string early = conn.TakeBuffered();
  std::thread input([&] {
    EngineFrame frame;
    if (!early.empty()) {
      frame.set_data(early);
      stream.Write(frame);
    }
    std::string buffer(64 * 1024, '\0');
    for (;;) {
      boost::system::error_code ec;
      size_t n = conn.socket().read_some(boost::asio::buffer(buffer.data(), buffer.size()), ec);
      if (n > 0) {
        frame.set_data(buffer.data(), n);
        if (!stream.Write(frame)) break;
      }
      if (ec) break;
    }
    stream.WritesDone();
  });
  EngineFrame frame;
  while (stream.Read(&frame)) {
    if (frame.has_data() && !conn.WriteRaw(frame.data())) {
      context.TryCancel();  // the client is gone: end the stream at every hop
      break;
    }
  }
  // The engine ended the stream: close our side so the client sees EOF and
  // the input pump returns.
  ::shutdown(conn.fd(), SHUT_RDWR);
  input.join();
}

}  // namespace

bool Forward(HttpConnection& conn, const Request& request, SchedulerStub& scheduler) {
  grpc::ClientContext context;
  std::unique_ptr<ForwardStream> stream = scheduler.Forward(&context);
  EngineFrame frame;
  auto* head = frame.mutable_request();
  head->set_method(request.method);
  head->set_target(request.target);
  head->set_content_length(request.content_length);
  head->set_upgrade(request.upgrade);
  head->set_upgrade_protocol(request.upgrade_protocol);
  for (const auto& [name, value] : request.headers) {
    auto* h = head->add_headers();
    h->set_name(name);
    h->set_value(value);
  }
  stream->Write(frame);
  bool body_ok = conn.ReadBody([&](absl::string_view piece) {
    EngineFrame data;
    data.set_data(piece.data(), piece.size());
    return stream->Write(data);
  });
  if (!body_ok) {
    context.TryCancel();
    stream->Finish();
    return false;
  }
  // An upgrade keeps the input open for the hijacked stream.
  if (!request.upgrade) stream->WritesDone();
  // A BuildKit session waits in the scheduler for the build that names it,
  // and the client sends that build only once its session is upgraded: the
  // upgrade is answered here, before the engine is known.
  const bool session = request.upgrade && request.api.path == "/session";
  if (session) {
    conn.WriteRaw(http::EncodeResponseHead(101, {}, http::BodyFraming::kRaw, 0, request.upgrade_protocol));
  }

  EngineFrame response;
  if (!stream->Read(&response) || !response.has_response() || (session && !response.response().hijacked())) {
    if (request.upgrade) stream->WritesDone();
    grpc::Status status = stream->Finish();
    if (session) {  // upgraded already: no HTTP answer fits; the client sees its session close
      spdlog::info("session {} closed: {}", request.target, status.error_message());
      return false;
    }
    WriteGrpcError(conn, status);
    return true;
  }
  if (response.response().hijacked()) {
    PumpHijacked(conn, context, *stream, response, request.upgrade_protocol, session);
    grpc::Status status = stream->Finish();
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      spdlog::debug("hijacked {} ended: {}", request.target, status.error_message());
    }
    return false;
  }
  if (request.upgrade) stream->WritesDone();
  return CopyStreamedResponse(
      conn, context, response, [&](EngineFrame& f) { return stream->Read(&f); },
      [&] { return stream->Finish(); });
}

}  // namespace switchyard::gateway
