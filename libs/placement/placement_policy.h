#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace switchyard::placement {

struct PlacementRequest {
  std::string platform;  // as the client gave it; empty when not given
  std::string image;
};

struct Placement {
  std::string backend;  // "hv" or "vz"
  std::string rule;     // the rule that fired, for `switchyardctl explain`
};

// Decides the backend of a workload. Pure: no I/O, tested over tables.
class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  virtual absl::StatusOr<Placement> Place(const PlacementRequest& request) const = 0;
};

}  // namespace switchyard::placement
