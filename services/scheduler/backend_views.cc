#include "services/scheduler/backend_views.h"

namespace switchyard::scheduler {

BackendViews::BackendViews(BackendClient* hv, BackendClient* vz, absl::Duration ttl)
    : hv_(hv), vz_(vz), ttl_(ttl) {}

placement::BackendView BackendViews::Read(BackendClient* backend) {
  placement::BackendView view;
  view.name = backend->name();
  absl::StatusOr<vmm::v1::GetVmStatusResponse> status = backend->GetVmStatus();
  if (!status.ok()) return view;
  view.up = status->state() == vmm::v1::VM_STATE_RUNNING;
  for (const std::string& translator : status->translators()) {
    std::string arch = placement::TranslatedArch(translator);
    if (!arch.empty()) view.translated_archs.push_back(arch);
  }
  return view;
}

std::pair<placement::BackendView, placement::BackendView> BackendViews::Get() {
  {
    absl::MutexLock lock(&mu_);
    if (absl::Now() - read_at_ < ttl_) return views_;
  }
  auto views = std::make_pair(Read(hv_), Read(vz_));
  absl::MutexLock lock(&mu_);
  views_ = views;
  // A backend that is down is asked again at once next time.
  read_at_ = views.first.up && views.second.up ? absl::Now() : absl::InfinitePast();
  return views_;
}

}  // namespace switchyard::scheduler
