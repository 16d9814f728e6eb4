#include "services/scheduler/backend_views.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace switchyard::scheduler {

BackendViews::BackendViews(BackendClient* hv, BackendClient* vz, absl::Duration ttl, absl::Duration boot_wait)
    : hv_(hv), vz_(vz), ttl_(ttl), boot_wait_(boot_wait) {}

placement::BackendView BackendViews::Read(BackendClient* backend) {
  placement::BackendView view;
  view.name = backend->name();
  absl::StatusOr<vmm::v1::GetVmStatusResponse> status = backend->GetVmStatus();
  // A booting VM is a moment from serving: place on what it will be, not on
  // "down" (the first request after the set starts would fail otherwise).
  const absl::Time deadline = absl::Now() + boot_wait_;
  while (status.ok() && status->state() == vmm::v1::VM_STATE_BOOTING && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    status = backend->GetVmStatus();
  }
  if (!status.ok()) return view;
  // A sleeping VM is there to be woken by the work placed on it.
  view.up = status->state() == vmm::v1::VM_STATE_RUNNING || status->state() == vmm::v1::VM_STATE_ASLEEP;
  for (const std::string& translator : status->translators()) {
    std::string arch = placement::TranslatedArch(translator);
    if (!arch.empty()) view.translated_archs.push_back(arch);
  }
  // Registered but not proven at boot: routed as missing, with what failed.
  for (const auto& probe : status->translator_probes()) {
    if (!probe.ran() && !probe.arch().empty()) {
      view.broken_translators.emplace(probe.arch(), absl::StrCat(probe.handler(), ": ", probe.error()));
    }
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
