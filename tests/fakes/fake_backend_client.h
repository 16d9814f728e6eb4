#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

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
  std::vector<std::pair<std::string, std::string>> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  const std::string& name() const override { return name_; }
  absl::StatusOr<EngineReply> Call(absl::string_view method, absl::string_view target,
                                   absl::string_view body = "") override {
    absl::MutexLock lock(&mu_);
    calls_.emplace_back(std::string(method), std::string(target));
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
  std::unique_ptr<EngineStream> OpenStream(grpc::ClientContext&) override { return nullptr; }
  absl::StatusOr<vmm::v1::GetVmStatusResponse> GetVmStatus() override { return status_; }
  absl::StatusOr<vmm::v1::SyncPortsResponse> SyncPorts(const vmm::v1::SyncPortsRequest&) override {
    return vmm::v1::SyncPortsResponse();
  }

 private:
  std::string name_;
  vmm::v1::GetVmStatusResponse status_;
  absl::Mutex mu_;
  absl::Status failure_;
  std::map<std::string, EngineReply> script_;
  std::vector<std::pair<std::string, std::string>> calls_;
};

}  // namespace switchyard::scheduler
