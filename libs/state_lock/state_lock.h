#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace switchyard {

// Takes an exclusive flock(2) on `path` (created if missing) and returns the
// descriptor that holds it (close-on-exec): the lock lasts until it is
// closed or the process ends, however it ends. FAILED_PRECONDITION when
// another process holds it. Two VM managers, or two agents, on one state
// directory would run two dockerds on one data root.
absl::StatusOr<int> LockExclusive(const std::string& path);

}  // namespace switchyard
