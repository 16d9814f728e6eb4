#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "switchyard/types/v1/engine.pb.h"

namespace switchyard::vmm {

// What a VM's engine last reported before it went to sleep: its containers
// (with their inspects), images, volumes, networks, info and version. While
// the VM sleeps, reads of these are answered from here, as its dockerd
// would answer them, so that `docker ps -a` or `docker inspect` does not
// wake it. Kept in the VM's state directory: it outlives a manager restart.
class AsleepSnapshot {
 public:
  // One GET against the guest engine: its status and body.
  using EngineGet = std::function<absl::StatusOr<std::pair<int, std::string>>(const std::string& target)>;

  // Asks the engine for everything answered here. Fails if any read fails:
  // a VM whose engine cannot be read is not put to sleep.
  static absl::StatusOr<AsleepSnapshot> Take(const EngineGet& get);
  static std::optional<AsleepSnapshot> Load(const std::string& path);
  absl::Status Save(const std::string& path) const;
  // A snapshot of a VM that never ran: nothing in it.
  static AsleepSnapshot Empty();

  // dockerd's answer to `method target` from the snapshot at `now`;
  // nullopt when the snapshot cannot answer it (anything that changes
  // state, or a filter it does not apply): the VM must wake for it.
  std::optional<types::v1::DockerReply> Answer(const std::string& method, const std::string& target,
                                               absl::Time now) const;

 private:
  nlohmann::json data_ = nlohmann::json::object();
};

}  // namespace switchyard::vmm
