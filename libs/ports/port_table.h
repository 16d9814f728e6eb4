#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "libs/ports/port_binding.h"

namespace switchyard::ports {

struct Claim {
  std::string backend;
  std::string container_id;
  PortBinding binding;

  bool operator==(const Claim&) const = default;
};

// The one host-port space of both VMs: which container holds which host
// port. Not thread-safe; its owner serializes access.
class PortTable {
 public:
  // Replaces everything `backend` holds with what its guest reports running.
  void SetBackend(const std::string& backend, std::vector<Claim> claims);
  // Adds claims for a container about to start, ahead of its guest's report.
  void Add(const std::vector<Claim>& claims);
  // Drops a container's claims (it failed to start, or is gone).
  void Release(const std::string& container_id);

  // The claim of another container that `binding` collides with, if any.
  std::optional<Claim> FindConflict(const PortBinding& binding, const std::string& container_id) const;
  std::vector<Claim> OfBackend(const std::string& backend) const;
  std::vector<Claim> All() const;

 private:
  absl::flat_hash_map<std::string, std::vector<Claim>> by_backend_;
};

// Picks a free host port in [first, last] for `binding` (its host_port is
// ignored), starting after `*cursor` and moving it, as dockerd's allocator
// goes round the range. `usable` tells whether the host itself can bind the
// port (something outside switchyard may hold it). ResourceExhausted with
// dockerd's wording when none is left.
absl::StatusOr<int> ChooseFreePort(const PortTable& table, PortBinding binding, int first, int last, int* cursor,
                                   const std::function<bool(const PortBinding&)>& usable);

}  // namespace switchyard::ports
