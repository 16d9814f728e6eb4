#include "services/scheduler/buildkit/build_refs.h"

namespace switchyard::scheduler::buildkit {
namespace {

// Kept this long after its Solve began: a build's Status and gateway calls
// come while it runs.
constexpr absl::Duration kRefLife = absl::Hours(6);

}  // namespace

void BuildRefs::Forget(absl::Time now) {
  absl::erase_if(refs_, [&](const auto& entry) { return now - entry.second.at > kRefLife; });
}

void BuildRefs::Begin(const std::string& ref, Binding binding, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Forget(now);
  refs_[ref] = Record{std::move(binding), now};
}

std::optional<BuildRefs::Binding> BuildRefs::Find(const std::string& ref) const {
  absl::MutexLock lock(&mu_);
  auto it = refs_.find(ref);
  if (it == refs_.end()) return std::nullopt;
  return it->second.binding;
}

std::optional<BuildRefs::Binding> BuildRefs::Await(const std::string& ref, absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  auto known = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return refs_.contains(ref); };
  if (!mu_.AwaitWithTimeout(absl::Condition(&known), wait)) return std::nullopt;
  return refs_.find(ref)->second.binding;
}

}  // namespace switchyard::scheduler::buildkit
