#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// A streamed engine call over a fake backend: the request (head and body)
// is collected until WritesDone, then answered whole by `answer`.
class FakeEngineStream : public EngineStream {
 public:
  using Answer = std::function<absl::StatusOr<EngineReply>(const std::string& method, const std::string& target,
                                                           const std::string& body)>;
  explicit FakeEngineStream(Answer answer) : answer_(std::move(answer)) {}

  bool Write(const EngineFrame& frame, grpc::WriteOptions) override {
    if (frame.has_request()) {
      method_ = frame.request().method();
      target_ = frame.request().target();
    }
    if (frame.has_data()) body_ += frame.data();
    return true;
  }
  bool WritesDone() override {
    absl::StatusOr<EngineReply> reply = answer_(method_, target_, body_);
    if (!reply.ok()) {
      status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(reply.status().message()));
      return true;
    }
    EngineFrame head;
    head.mutable_response()->set_status(reply->status);
    head.mutable_response()->set_content_length(static_cast<int64_t>(reply->body.size()));
    frames_.push_back(head);
    if (!reply->body.empty()) {
      EngineFrame data;
      data.set_data(reply->body);
      frames_.push_back(data);
    }
    return true;
  }
  bool Read(EngineFrame* frame) override {
    if (frames_.empty()) return false;
    *frame = frames_.front();
    frames_.pop_front();
    return true;
  }
  bool NextMessageSize(uint32_t* size) override {
    *size = frames_.empty() ? 0 : static_cast<uint32_t>(frames_.front().ByteSizeLong());
    return !frames_.empty();
  }
  grpc::Status Finish() override { return status_; }
  void WaitForInitialMetadata() override {}

 private:
  Answer answer_;
  std::string method_, target_, body_;
  std::deque<EngineFrame> frames_;
  grpc::Status status_;
};

// A backend answering from a script: the reply of the longest scripted
// "METHOD /path" prefix of each call's target, else 404 as dockerd would
// for an object it does not hold. Records every call.
class FakeBackendClient : public BackendClient {
 public:
  FakeBackendClient(std::string name, std::string kernel_arch, std::vector<std::string> translators = {})
      : name_(std::move(name)) {
    status_.set_state(vmm::v1::VM_STATE_RUNNING);
    status_.set_kernel_arch(std::move(kernel_arch));
    for (auto& t : translators) status_.add_translators(std::move(t));
  }

  // `method_and_prefix`: "GET /containers/web/json".
  void Answer(const std::string& method_and_prefix, int status, std::string body) {
    absl::MutexLock lock(&mu_);
    script_[method_and_prefix] = EngineReply{status, {{"Content-Type", "application/json"}}, std::move(body)};
  }
  void Fail(absl::Status status) {
    absl::MutexLock lock(&mu_);
    failure_ = std::move(status);
  }
  // Runs after each call is recorded, before it is answered (a test's
  // hook to change the script: an image a load brought in).
  void OnCall(std::function<void(const std::string& method, const std::string& target, const std::string& body)> hook) {
    absl::MutexLock lock(&mu_);
    on_call_ = std::move(hook);
  }
  std::vector<std::pair<std::string, std::string>> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  const std::string& name() const override { return name_; }
  absl::StatusOr<EngineReply> Call(absl::string_view method, absl::string_view target,
                                   absl::string_view body = "") override {
    std::function<void(const std::string&, const std::string&, const std::string&)> hook;
    {
      absl::MutexLock lock(&mu_);
      calls_.emplace_back(std::string(method), std::string(target));
      hook = on_call_;
    }
    if (hook) hook(std::string(method), std::string(target), std::string(body));
    absl::MutexLock lock(&mu_);
    if (!failure_.ok()) return failure_;
    const std::string key = absl::StrCat(method, " ", target);
    const EngineReply* best = nullptr;
    size_t best_length = 0;
    for (const auto& [prefix, reply] : script_) {
      if (absl::StartsWith(key, prefix) && prefix.size() >= best_length) {
        best = &reply;
        best_length = prefix.size();
      }
    }
    if (best != nullptr) return *best;
    return EngineReply{404, {{"Content-Type", "application/json"}}, "{\"message\":\"not scripted\"}\n"};
  }
  std::unique_ptr<EngineStream> OpenStream(grpc::ClientContext&) override {
    return std::make_unique<FakeEngineStream>(
        [this](const std::string& method, const std::string& target, const std::string& body) {
          return Call(method, target, body);
        });
  }
  absl::StatusOr<vmm::v1::GetVmStatusResponse> GetVmStatus() override { return status_; }
  absl::StatusOr<vmm::v1::SyncPortsResponse> SyncPorts(const vmm::v1::SyncPortsRequest&) override {
    return vmm::v1::SyncPortsResponse();
  }

 private:
  std::string name_;
  vmm::v1::GetVmStatusResponse status_;
  absl::Mutex mu_;
  absl::Status failure_;
  std::function<void(const std::string&, const std::string&, const std::string&)> on_call_;
  std::map<std::string, EngineReply> script_;
  std::vector<std::pair<std::string, std::string>> calls_;
};

}  // namespace switchyard::scheduler
