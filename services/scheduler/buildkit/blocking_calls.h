#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"

namespace switchyard::scheduler::buildkit {

// gRPC's callback API, made blocking so that a proxied call reads as plain
// code on its own thread: read the first message, decide, relay. Every call
// is bidi on the wire, whatever its method declares, so one shape serves all.

// One operation of a kind (a read, a write) that a thread starts and then
// waits for, while gRPC's callback completes it.
class PendingOp {
 public:
  void Begin();            // just before the operation starts
  void Complete(bool ok);  // from gRPC's callback
  bool Wait();             // its result
  void WaitIdle();         // until none is in flight

 private:
  absl::Mutex mu_;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool ok_ ABSL_GUARDED_BY(mu_) = false;
};

// The call a client made to us. `body` runs on its own thread and ends with
// Finish; the object deletes itself once gRPC and the body are both done.
class ServerCall : public grpc::ServerGenericBidiReactor {
 public:
  using Body = std::function<void(ServerCall&)>;
  ServerCall(grpc::GenericCallbackServerContext* context, Body body);

  grpc::GenericCallbackServerContext& context() { return *context_; }
  // False once the client half-closed, or the call was cancelled.
  bool Read(grpc::ByteBuffer* message);
  bool Write(const grpc::ByteBuffer& message);
  // The body's last act on the call.
  void Finish(const grpc::Status& status);
  bool cancelled() const { return cancelled_.load(); }
  // Runs `hook` when the client cancels (at once if it has): it ends what
  // the body waits on, such as the call to the guest.
  void OnCancelled(std::function<void()> hook);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void Release();

  grpc::GenericCallbackServerContext* context_;
  // Held while an operation is started, so none starts after Finish.
  absl::Mutex start_mu_;
  bool finished_ ABSL_GUARDED_BY(start_mu_) = false;
  std::function<void()> cancel_hook_ ABSL_GUARDED_BY(start_mu_);
  PendingOp reading_;
  PendingOp writing_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int> owners_{2};  // gRPC (until OnDone) and the body thread
};

// A call we make to a guest's BuildKit, with the method and metadata of the
// call it serves.
class ClientCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ClientCall(grpc::GenericStub& stub, const std::string& method, std::unique_ptr<grpc::ClientContext> context);
  ~ClientCall() override;

  bool Read(grpc::ByteBuffer* message);
  bool Write(const grpc::ByteBuffer& message);
  // No more messages from us. Call once, also after a failed Write.
  void WritesDone();
  // No more reads from us (after Read returned false, or to give up).
  void StopReading();
  void Cancel() { context_->TryCancel(); }
  // Waits for the call's end; needs WritesDone and StopReading first.
  grpc::Status Await();
  grpc::ClientContext& context() { return *context_; }

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  absl::Mutex start_mu_;
  bool writes_done_ ABSL_GUARDED_BY(start_mu_) = false;
  bool reads_stopped_ ABSL_GUARDED_BY(start_mu_) = false;
  PendingOp reading_;
  PendingOp writing_;
  absl::Mutex mu_;
  std::optional<grpc::Status> status_ ABSL_GUARDED_BY(mu_);
};

// A copy of the metadata a client sent, fit to send on: gRPC's own headers
// (content type, deadline, user agent) are left to the next call.
void CopyClientMetadata(const grpc::ServerContextBase& from, grpc::ClientContext& to);

// The bytes of one whole message.
std::string Flatten(const grpc::ByteBuffer& message);
grpc::ByteBuffer FromString(const std::string& bytes);

}  // namespace switchyard::scheduler::buildkit
