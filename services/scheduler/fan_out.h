#pragma once

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "libs/threads/reusable_threads.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// The threads that ask the other backends, reused: a fresh thread per call
// cost a list about 0.15 ms here. Never stopped; idle ones leave.
threads::ReusableThreads& FanOutThreads();

// Runs `call` against every backend at once; results in backend order.
// `backends` holds pointers (raw or owning) to BackendClients.
template <typename Backends, typename Fn>
auto OnEachBackend(const Backends& backends, Fn call) {
  using Result = decltype(call(**backends.begin()));
  // The last backend is asked on this thread.
  std::vector<std::future<Result>> futures;
  for (size_t i = 0; i + 1 < backends.size(); ++i) {
    auto task = std::make_shared<std::packaged_task<Result()>>([&call, b = &*backends[i]] { return call(*b); });
    futures.push_back(task->get_future());
    if (!FanOutThreads().Spawn([task] { (*task)(); })) (*task)();  // no thread to be had: ask in turn
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
