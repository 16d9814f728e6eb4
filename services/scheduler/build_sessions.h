#pragma once

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::scheduler {

// Meets BuildKit sessions with the builds that name them. The 20.10 CLI
// opens /session first, then POST /build?version=2&session=ID, within
// milliseconds; the session must reach the engine that runs the build,
// known only once the build is routed. buildx opens its session the same way
// and names it in its Control/Solve over /grpc. Either order works: a claim
// waits for its session, a session waits for its claim, within a bound.
class BuildSessions {
 public:
  // The build naming session `id` wants `backend`; returns the backend it
  // must run on (the session's, if that went first).
  std::string Claim(const std::string& id, const std::string& backend, absl::Time now = absl::Now());
  // The backend session `id` goes to: its build's; nullopt when no build
  // claimed it within `bound` (the session is then closed).
  std::optional<std::string> Await(const std::string& id, absl::Duration bound, absl::Time now = absl::Now());

 private:
  struct ClaimRecord {
    std::string backend;
    absl::Time at;
  };
  void Forget(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, ClaimRecord> claims_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::scheduler
