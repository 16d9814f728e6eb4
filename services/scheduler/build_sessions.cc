#include "services/scheduler/build_sessions.h"

#include "absl/strings/str_cat.h"

namespace switchyard::scheduler {
namespace {

// A claim whose session never came is dropped after this long.
constexpr absl::Duration kClaimLife = absl::Minutes(10);

}  // namespace

void BuildSessions::Forget(absl::Time now) {
  absl::erase_if(claims_, [&](const auto& entry) { return now - entry.second.at > kClaimLife; });
}

std::string BuildSessions::Claim(const std::string& id, const std::string& backend, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Forget(now);
  auto [it, inserted] = claims_.try_emplace(id, ClaimRecord{backend, now});
  return it->second.backend;
}

std::optional<std::string> BuildSessions::Await(const std::string& id, absl::Duration bound, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto claimed = [this, &id]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return claims_.contains(id); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&claimed), bound)) return std::nullopt;
  Forget(now);
  return claims_.find(id)->second.backend;
}

}  // namespace switchyard::scheduler
