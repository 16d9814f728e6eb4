#pragma once

#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/placement/routing_policy.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// What placement needs of each backend (up, translators), read from the VM
// managers and kept for a moment so a burst of creates asks once. A booting
// VM is waited for, up to `boot_wait`.
class BackendViews {
 public:
  BackendViews(BackendClient* hv, BackendClient* vz, absl::Duration ttl = absl::Seconds(2),
               absl::Duration boot_wait = absl::Seconds(60));
  // hv's and vz's views.
  std::pair<placement::BackendView, placement::BackendView> Get();

 private:
  placement::BackendView Read(BackendClient* backend);

  BackendClient* hv_;
  BackendClient* vz_;
  absl::Duration ttl_;
  absl::Duration boot_wait_;
  absl::Mutex mu_;
  absl::Time read_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::pair<placement::BackendView, placement::BackendView> views_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::scheduler
