#include "services/gateway/frame_writer.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/http/docker_error.h"
#include "libs/rpc/status_grpc.h"

namespace switchyard::gateway {
namespace {

http::HeaderList HeadersOf(const google::protobuf::RepeatedPtrField<types::v1::Header>& headers) {
  http::HeaderList out;
  for (const auto& h : headers) out.emplace_back(h.name(), h.value());
  return out;
}

// Cancels `context` when the client hangs up while we stream to it. The
// destructor wakes the watcher through an eventfd, so ending a stream never
// waits for a poll timeout.
class HangupWatch {
 public:
  HangupWatch(int fd, grpc::ClientContext& context)
      : wake_(::eventfd(0, EFD_CLOEXEC)), thread_([this, fd, &context] {
          pollfd p[2] = {{fd, POLLRDHUP, 0}, {wake_, POLLIN, 0}};
          while (true) {
            int n = ::poll(p, wake_ >= 0 ? 2 : 1, wake_ >= 0 ? -1 : 100);
            if (done_) return;
            if (n > 0 && (p[0].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
              context.TryCancel();
              return;
            }
          }
        }) {}
  ~HangupWatch() {
    done_ = true;
    if (wake_ >= 0) {
      const uint64_t one = 1;
      (void)!::write(wake_, &one, sizeof(one));
    }
    thread_.join();
    if (wake_ >= 0) ::close(wake_);
  }

 private:
  std::atomic<bool> done_{false};
  const int wake_;
  std::thread thread_;
};

}  // namespace

void WriteGrpcError(HttpConnection& conn, const grpc::Status& status) {
  // The gateway cancels a call only after its client is gone, and then writes
  // nothing; a call cancelled further in still owes the client an answer, or
  // the client waits on a kept-alive connection for ever.
  if (status.error_code() == grpc::StatusCode::CANCELLED) {
    conn.WriteError(absl::UnavailableError(
        absl::StrCat("the request was cancelled inside switchyard (", status.error_message(),
                     "); a service may have restarted, retry")));
    return;
  }
  // The scheduler names a backend it cannot reach; a bare transport error
  // is the gateway's own channel, to the scheduler.
  if (rpc::IsTransportFailure(status) && !absl::StartsWith(status.error_message(), "backend ")) {
    conn.WriteError(absl::UnavailableError(absl::StrCat(
        "the switchyard scheduler is not reachable (it may be restarting): ", status.error_message())));
    return;
  }
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
