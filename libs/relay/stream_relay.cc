#include "libs/relay/stream_relay.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace switchyard::relay {

bool TakesPreface(const Frame& frame) {
  return frame.has_response() && frame.response().status() == 200 && !frame.response().hijacked() &&
         frame.response().content_length() < 0;
}

grpc::Status RelayEngineCall(grpc::ServerContext& up_ctx, ServerStream& up, const Frame& first,
                             grpc::ClientContext& down_ctx, ClientStream& down,
                             absl::Duration half_close_grace, const std::string& preface) {
  // Signalled when the response ends, so the watcher below exits at once
  // instead of finishing a poll interval (that cost every call ~50 ms).
  absl::Notification response_done;
  absl::Notification caller_input_ended;
  std::atomic<bool> we_cancelled_up{false};
  down.Write(first);

  // Caller → next hop. After the caller half-closes, keep watching for its
  // cancellation: a client that goes away mid-response must end the call
  // at every hop, not only when the next byte fails to send.
  std::thread upward([&] {
    Frame frame;
    while (up.Read(&frame)) {
      if (!down.Write(frame)) break;
    }
    caller_input_ended.Notify();
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

  bool hijacked = false;
  Frame frame;
  while (down.Read(&frame)) {
    if (frame.has_response() && frame.response().hijacked()) hijacked = true;
    bool written = up.Write(frame);
    if (written && !preface.empty() && TakesPreface(frame)) {
      Frame data;
      data.set_data(preface);
      written = up.Write(data);
    }
    if (!written) {
      down_ctx.TryCancel();
      break;
    }
  }
  response_done.Notify();
  // Our read of the caller's input must end before we return. A hijacked
  // stream can end on the guest's side while the caller still holds its
  // input open: cancel at once. Any other caller half-closes promptly, and
  // cancelling it would replace the next hop's status (say, "backend
  // unreachable" when a VM manager restarts mid-call) with a bare CANCELLED
  // that the client cannot explain; so wait for the half-close, within a bound.
  if (hijacked || !caller_input_ended.WaitForNotificationWithTimeout(half_close_grace)) {
    if (!caller_input_ended.HasBeenNotified()) {
      we_cancelled_up = true;
      up_ctx.TryCancel();
    }
  }
  upward.join();
  return down.Finish();
}

}  // namespace switchyard::relay
