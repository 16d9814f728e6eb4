#include "services/scheduler/buildkit/blocking_calls.h"

#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace switchyard::scheduler::buildkit {

void PendingOp::Begin() {
  absl::MutexLock lock(&mu_);
  in_flight_ = true;
}

void PendingOp::Complete(bool ok) {
  absl::MutexLock lock(&mu_);
  ok_ = ok;
  in_flight_ = false;
}

bool PendingOp::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(+[](bool* in_flight) { return !*in_flight; }, &in_flight_));
  return ok_;
}

void PendingOp::WaitIdle() { (void)Wait(); }

ServerCall::ServerCall(grpc::GenericCallbackServerContext* context, Body body) : context_(context) {
  // Operations started before gRPC binds the reactor are held back by gRPC
  // until it does, so the body may start at once.
  std::thread([this, body = std::move(body)] {
    body(*this);
    Release();
  }).detach();
}

bool ServerCall::Read(grpc::ByteBuffer* message) {
  {
    absl::MutexLock start(&start_mu_);
    if (finished_) return false;
    reading_.Begin();
    StartRead(message);
  }
  return reading_.Wait();
}

bool ServerCall::Write(const grpc::ByteBuffer& message) {
  {
    absl::MutexLock start(&start_mu_);
    if (finished_) return false;
    writing_.Begin();
    StartWrite(&message);
  }
  return writing_.Wait();
}

void ServerCall::Finish(const grpc::Status& status) {
  absl::MutexLock start(&start_mu_);
  if (finished_) return;
  finished_ = true;
  cancel_hook_ = nullptr;
  grpc::ServerGenericBidiReactor::Finish(status);
}

void ServerCall::OnCancelled(std::function<void()> hook) {
  absl::MutexLock start(&start_mu_);
  if (cancelled_.load()) {
    if (hook) hook();
    return;
  }
  cancel_hook_ = std::move(hook);
}

void ServerCall::OnReadDone(bool ok) { reading_.Complete(ok); }

void ServerCall::OnWriteDone(bool ok) { writing_.Complete(ok); }

void ServerCall::OnCancel() {
  // Under the lock: the body clears the hook (in Finish) before what it
  // points to goes away.
  absl::MutexLock start(&start_mu_);
  cancelled_ = true;
  if (cancel_hook_) cancel_hook_();
}

void ServerCall::OnDone() { Release(); }

void ServerCall::Release() {
  if (owners_.fetch_sub(1) == 1) delete this;
}

ClientCall::ClientCall(grpc::GenericStub& stub, const std::string& method, std::unique_ptr<grpc::ClientContext> context)
    : context_(std::move(context)) {
  stub.PrepareBidiStreamingCall(context_.get(), method, grpc::StubOptions(), this);
  // One hold for our reading side, one for our writing side: the call ends
  // (OnDone) only once we have stopped both.
  AddMultipleHolds(2);
  StartCall();
}

ClientCall::~ClientCall() = default;

bool ClientCall::Read(grpc::ByteBuffer* message) {
  {
    absl::MutexLock start(&start_mu_);
    if (reads_stopped_) return false;
    reading_.Begin();
    StartRead(message);
  }
  return reading_.Wait();
}

bool ClientCall::Write(const grpc::ByteBuffer& message) {
  {
    absl::MutexLock start(&start_mu_);
    if (writes_done_) return false;
    writing_.Begin();
    StartWrite(&message);
  }
  return writing_.Wait();
}

void ClientCall::WritesDone() {
  {
    absl::MutexLock start(&start_mu_);
    if (writes_done_) return;
    writes_done_ = true;
  }
  writing_.WaitIdle();  // another thread's write may be in flight: the close goes after it
  StartWritesDone();
  RemoveHold();
}

void ClientCall::StopReading() {
  absl::MutexLock start(&start_mu_);
  if (reads_stopped_) return;
  reads_stopped_ = true;
  RemoveHold();
}

grpc::Status ClientCall::Await() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::optional<grpc::Status>* status) { return status->has_value(); }, &status_));
  return *status_;
}

void ClientCall::OnReadDone(bool ok) { reading_.Complete(ok); }

void ClientCall::OnWriteDone(bool ok) { writing_.Complete(ok); }

void ClientCall::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  status_ = status;
}

void CopyClientMetadata(const grpc::ServerContextBase& from, grpc::ClientContext& to) {
  for (const auto& [key, value] : from.client_metadata()) {
    std::string name(key.data(), key.size());
    if (absl::StartsWith(name, ":") || absl::StartsWith(name, "grpc-") || name == "content-type" ||
        name == "user-agent" || name == "te") {
      continue;
    }
    to.AddMetadata(name, std::string(value.data(), value.size()));
  }
}

std::string Flatten(const grpc::ByteBuffer& message) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!message.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer FromString(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace switchyard::scheduler::buildkit
