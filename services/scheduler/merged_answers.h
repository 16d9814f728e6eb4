#pragma once

#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "services/scheduler/backend_client.h"

namespace switchyard::scheduler {

// Answers of every VM to one call, in backend order, made into the one
// answer a single dockerd would give. A VM that failed fails the whole call
// (its error names it): a prune or a disk usage that left one VM out would
// look complete and is not. An answer dockerd refused is passed on as is.
using BackendReplies = std::vector<absl::StatusOr<EngineReply>>;

// A prune: the `deleted_key` lists joined (null when every VM answered
// null, as dockerd does when nothing went), SpaceReclaimed summed where
// dockerd reports it.
absl::StatusOr<EngineReply> MergePrune(const BackendReplies& replies, absl::string_view deleted_key);

// /system/df: layer and build-cache sizes summed; images, containers,
// volumes and build-cache rows joined (an image or volume both VMs hold is
// one row, as in the merged lists).
absl::StatusOr<EngineReply> MergeDiskUsage(const BackendReplies& replies);

// The first VM that succeeded, else the first answer (a cancel is for the
// build of one VM).
absl::StatusOr<EngineReply> FirstSuccess(const BackendReplies& replies);

}  // namespace switchyard::scheduler
