#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace switchyard::scheduler::buildkit {

// How one call of BuildKit's API (buildx's docker driver, /grpc) is routed.
enum class CallKind {
  kControlSolve,  // by the platform its request names; none: the native VM
  kStatus,        // to the VM running the build ref it names
  kMergedUnary,   // every VM answers; repeated fields joined (ListWorkers, DiskUsage)
  kMergedStream,  // every VM streams; all messages passed on (Prune)
  kBridge,        // gateway (LLBBridge) calls: to the VM running the build in their metadata
  kNative,        // anything else: the native VM, passed through
};

CallKind KindOf(absl::string_view method);

// The metadata key that ties a gateway (LLBBridge) call to its build ref.
inline constexpr char kBuildIdKey[] = "buildkit-controlapi-buildid";

// What a Control/Solve request says about where it must run.
struct ControlSolve {
  std::string ref;
  std::string session;
  // The platform its frontend attributes or LLB definition name; empty if none.
  std::string platform;
  std::string tag;  // the image name its exporter gives, if any
  bool internal = false;
};
std::optional<ControlSolve> ParseControlSolve(absl::string_view message);
std::optional<std::string> ParseStatusRef(absl::string_view message);

// Several VMs' answers to a unary call as one: protobuf messages
// concatenated merge, and their repeated fields (workers, usage records) join.
std::string MergeUnaryAnswers(const std::vector<std::string>& answers);

// The platforms `docker buildx ls` would show for a ListWorkers answer.
std::vector<std::string> WorkerPlatforms(absl::string_view list_workers_answer);

}  // namespace switchyard::scheduler::buildkit
