#include "libs/relay/stream_relay.h"

#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "switchyard/vmm/v1/vmm.grpc.pb.h"

// Two in-process hops, caller → relay → next hop, as scheduler → VM manager →
// agent are wired: the relay under test serves `up` and opens `down`.
namespace {

using switchyard::relay::Frame;
using switchyard::vmm::v1::VmManager;
using Clock = std::chrono::steady_clock;

// The next hop: fails at once, or answers with a hijacked head and ends.
class NextHop final : public VmManager::Service {
 public:
  explicit NextHop(bool hijack) : hijack_(hijack) {}
  grpc::Status EngineCall(grpc::ServerContext*, grpc::ServerReaderWriter<Frame, Frame>* stream) override {
    if (!hijack_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "backend vz is not reachable");
    Frame head;
    stream->Read(&head);  // the in-process transport completes a write only once it is read
    head.Clear();
    head.mutable_response()->set_status(101);
    head.mutable_response()->set_hijacked(true);
    stream->Write(head);
    return grpc::Status::OK;
  }

 private:
  bool hijack_;
};

class Relay final : public VmManager::Service {
 public:
  Relay(std::shared_ptr<grpc::Channel> next, absl::Duration grace) : next_(VmManager::NewStub(next)), grace_(grace) {}
  grpc::Status EngineCall(grpc::ServerContext* context, grpc::ServerReaderWriter<Frame, Frame>* stream) override {
    Frame first;
    if (!stream->Read(&first)) return grpc::Status(grpc::StatusCode::CANCELLED, "no head");
    grpc::ClientContext down_ctx;
    auto down = next_->EngineCall(&down_ctx);
    return switchyard::relay::RelayEngineCall(*context, *stream, first, down_ctx, *down, grace_);
  }

 private:
  std::unique_ptr<VmManager::Stub> next_;
  absl::Duration grace_;
};

struct Hops {
  Hops(bool hijack, absl::Duration grace) : next_hop(hijack) {
    grpc::ServerBuilder next_builder;
    next_builder.RegisterService(&next_hop);
    next_server = next_builder.BuildAndStart();
    relay = std::make_unique<Relay>(next_server->InProcessChannel({}), grace);
    grpc::ServerBuilder relay_builder;
    relay_builder.RegisterService(relay.get());
    relay_server = relay_builder.BuildAndStart();
    stub = VmManager::NewStub(relay_server->InProcessChannel({}));
  }
  ~Hops() {
    relay_server->Shutdown();
    next_server->Shutdown();
  }
  NextHop next_hop;
  std::unique_ptr<grpc::Server> next_server;
  std::unique_ptr<Relay> relay;
  std::unique_ptr<grpc::Server> relay_server;
  std::unique_ptr<VmManager::Stub> stub;
};

Frame RequestHead() {
  Frame head;
  head.mutable_request()->set_method("GET");
  head.mutable_request()->set_target("/v1.41/exec/abc/json");
  return head;
}

}  // namespace

TEST_CASE("a next hop that fails before the caller half-closes passes its status on, not CANCELLED",
          "[relay][unit]") {
  // The caller is slow to half-close, as a gateway thread can be when the
  // VM manager's socket is refused at once during its restart.
  Hops hops(/*hijack=*/false, absl::Seconds(5));
  grpc::ClientContext context;
  auto call = hops.stub->EngineCall(&context);
  REQUIRE(call->Write(RequestHead()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  call->WritesDone();
  Frame frame;
  CHECK_FALSE(call->Read(&frame));
  grpc::Status status = call->Finish();
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(status.error_message() == "backend vz is not reachable");
}

TEST_CASE("a hijacked stream ended by the next hop ends the caller's call at once, input still open",
          "[relay][unit]") {
  Hops hops(/*hijack=*/true, absl::Seconds(30));
  grpc::ClientContext context;
  auto call = hops.stub->EngineCall(&context);
  REQUIRE(call->Write(RequestHead()));
  Frame frame;
  REQUIRE(call->Read(&frame));
  CHECK(frame.response().hijacked());
  const auto start = Clock::now();
  CHECK_FALSE(call->Read(&frame));  // no WritesDone: a client holding stdin open
  call->Finish();
  CHECK(Clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("a caller that never half-closes after the next hop failed is cancelled after the grace",
          "[relay][unit]") {
  Hops hops(/*hijack=*/false, absl::Milliseconds(200));
  grpc::ClientContext context;
  auto call = hops.stub->EngineCall(&context);
  REQUIRE(call->Write(RequestHead()));
  const auto start = Clock::now();
  Frame frame;
  CHECK_FALSE(call->Read(&frame));
  grpc::Status status = call->Finish();
  CHECK(status.error_code() == grpc::StatusCode::CANCELLED);
  CHECK(Clock::now() - start < std::chrono::seconds(5));
}
