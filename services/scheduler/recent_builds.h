#pragma once

#include <deque>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchyard::scheduler {

// Where a build ran and why, for `switchyardctl explain build` and the
// build's first progress line.
struct BuildDecision {
  std::string kind;  // classic, buildkit, buildx
  std::string ref;
  std::string tag;
  std::string platform;
  std::string backend;
  std::string rule;
  absl::Time started;
};

// The progress line a build's client shows first: where it runs and why.
std::string BuildProgressLine(const BuildDecision& decision);

// The last builds' decisions, in memory: a build is not a workload the
// registry keeps; its image is recorded where it lands.
class RecentBuilds {
 public:
  void Add(BuildDecision decision);
  // Newest first; `match` a tag (with or without ":latest") or ref; empty: all.
  std::vector<BuildDecision> Find(const std::string& match) const;

 private:
  static constexpr size_t kKept = 200;
  mutable absl::Mutex mu_;
  std::deque<BuildDecision> builds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::scheduler
