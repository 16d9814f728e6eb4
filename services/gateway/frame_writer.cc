#include "services/gateway/frame_writer.h"

#include <poll.h>

#include <atomic>
#include <thread>

#include "libs/http/docker_error.h"
#include "libs/rpc/status_grpc.h"

namespace switchyard::gateway {
namespace {

http::HeaderList HeadersOf(const google::protobuf::RepeatedPtrField<types::v1::Header>& headers) {
  http::HeaderList out;
  for (const auto& h : headers) out.emplace_back(h.name(), h.value());
  return out;
}

// Cancels `context` when the client hangs up while we stream to it.
class HangupWatch {
 public:
  HangupWatch(int fd, grpc::ClientContext& context)
      : thread_([this, fd, &context] {
          while (!done_) {
            pollfd p{fd, POLLRDHUP, 0};
            int n = ::poll(&p, 1, 100);
            if (n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
              context.TryCancel();
              return;
            }
          }
        }) {}
  ~HangupWatch() {
    done_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

void WriteGrpcError(HttpConnection& conn, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::CANCELLED) return;
  conn.WriteError(rpc::FromGrpc(status));
}

void WriteReply(HttpConnection& conn, const grpc::Status& status, const types::v1::DockerReply& reply) {
  if (!status.ok()) {
    WriteGrpcError(conn, status);
    return;
  }
  conn.WriteWhole(reply.status(), HeadersOf(reply.headers()), reply.body());
}

bool CopyStreamedResponse(HttpConnection& conn, grpc::ClientContext& context, const EngineFrame& head,
                          const std::function<bool(EngineFrame&)>& read,
                          const std::function<grpc::Status()>& finish) {
  const auto& response = head.response();
  const http::HeaderList headers = HeadersOf(response.headers());
  EngineFrame frame;
  if (response.content_length() >= 0) {
    conn.StartFixed(response.status(), headers, static_cast<size_t>(response.content_length()));
    while (read(frame)) {
      if (frame.has_data() && !conn.WriteRaw(frame.data())) {
        context.TryCancel();
        finish();
        return false;
      }
    }
    return finish().ok();
  }
  conn.StartChunked(response.status(), headers);
  bool client_ok = true;
  {
    HangupWatch watch(conn.fd(), context);
    while (read(frame)) {
      if (frame.has_data() && !conn.WriteChunk(frame.data())) {
        context.TryCancel();
        client_ok = false;
        break;
      }
    }
  }
  if (!finish().ok() || !client_ok) return false;
  conn.EndChunked();
  return true;
}

}  // namespace switchyard::gateway
