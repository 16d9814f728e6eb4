#include "services/scheduler/recent_builds.h"

#include "absl/strings/str_cat.h"

namespace switchyard::scheduler {

std::string BuildProgressLine(const BuildDecision& decision) {
  return absl::StrCat("[switchyard] building on ", decision.backend, ": ", decision.rule);
}

void RecentBuilds::Add(BuildDecision decision) {
  absl::MutexLock lock(&mu_);
  builds_.push_front(std::move(decision));
  if (builds_.size() > kKept) builds_.pop_back();
}

std::vector<BuildDecision> RecentBuilds::Find(const std::string& match) const {
  absl::MutexLock lock(&mu_);
  std::vector<BuildDecision> found;
  for (const BuildDecision& b : builds_) {
    if (match.empty() || b.ref == match || b.tag == match || b.tag == absl::StrCat(match, ":latest")) {
      found.push_back(b);
    }
  }
  return found;
}

}  // namespace switchyard::scheduler
