#include "libs/relay/stream_relay.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace switchyard::relay {

grpc::Status RelayEngineCall(grpc::ServerContext& up_ctx, ServerStream& up, const Frame& first,
                             grpc::ClientContext& down_ctx, ClientStream& down) {
  // Signalled when the response ends, so the watcher below exits at once
  // instead of finishing a poll interval (that cost every call ~50 ms).
  absl::Notification response_done;
  std::atomic<bool> we_cancelled_up{false};
  std::atomic<bool> caller_input_ended{false};
  down.Write(first);

  // Caller → next hop. After the caller half-closes, keep watching for its
  // cancellation: a client that goes away mid-response must end the call
  // at every hop, not only when the next byte fails to send.
  std::thread upward([&] {
    Frame frame;
    while (up.Read(&frame)) {
      if (!down.Write(frame)) break;
    }
    caller_input_ended = true;
    if (response_done.HasBeenNotified()) return;
    if (up_ctx.IsCancelled() && !we_cancelled_up) {
      down_ctx.TryCancel();
      return;
    }
    down.WritesDone();
    // The sync API has no cancellation callback: poll, but wake on completion.
    while (!response_done.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
      if (up_ctx.IsCancelled()) {
        down_ctx.TryCancel();
        return;
      }
    }
  });

  Frame frame;
  while (down.Read(&frame)) {
    if (!up.Write(frame)) {
      down_ctx.TryCancel();
      break;
    }
  }
  response_done.Notify();
  // A hijacked stream can end on the guest's side while the caller still
  // holds its input open: unblock our read of it.
  if (!caller_input_ended) {
    we_cancelled_up = true;
    up_ctx.TryCancel();
  }
  upward.join();
  return down.Finish();
}

}  // namespace switchyard::relay
