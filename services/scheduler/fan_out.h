#pragma once

#include <future>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// Runs `call` against every backend at once; results in backend order.
// `backends` holds pointers (raw or owning) to BackendClients.
template <typename Backends, typename Fn>
auto OnEachBackend(const Backends& backends, Fn call) {
  using Result = decltype(call(**backends.begin()));
  // The last backend is asked on this thread: one thread spawn fewer per call.
  std::vector<std::future<Result>> futures;
  for (size_t i = 0; i + 1 < backends.size(); ++i) {
    futures.push_back(std::async(std::launch::async, [&call, b = &*backends[i]] { return call(*b); }));
  }
  std::optional<Result> last;
  if (!backends.empty()) last.emplace(call(*backends.back()));
  std::vector<Result> results;
  for (auto& f : futures) results.push_back(f.get());
  if (last.has_value()) results.push_back(*std::move(last));
  return results;
}

inline EngineReply JsonReply(int status, const nlohmann::json& body) {
  EngineReply reply;
  reply.status = status;
  reply.headers.emplace_back("Content-Type", "application/json");
  reply.body = body.dump() + "\n";
  return reply;
}

}  // namespace switchyard::scheduler
