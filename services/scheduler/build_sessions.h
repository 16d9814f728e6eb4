#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::scheduler {

// Meets BuildKit sessions with the builds that name them. The 20.10 CLI
// opens /session first, then POST /build?version=2&session=ID, within
// milliseconds; the session must reach the engine that runs the build,
// known only once the build is routed. buildx opens a session too, but its
// solve comes over /grpc (native VM), never as a /build. So a session waits
// a short grace for a build to claim it, then goes to `fallback`; a build
// that claims it later follows the session there.
class BuildSessions {
 public:
  // The build naming session `id` wants `backend`; returns the backend it
  // must run on (the session's, if that went first).
  std::string Claim(const std::string& id, const std::string& backend, absl::Time now = absl::Now());
  // The backend session `id` goes to: its build's, or `fallback` after `grace`.
  std::string Await(const std::string& id, absl::Duration grace, const std::string& fallback,
                    absl::Time now = absl::Now());

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
