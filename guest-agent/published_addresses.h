#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace switchyard::agent {

// The specific host IPs a container create body publishes on
// (HostConfig.PortBindings[*][*].HostIp): not the wildcards, not loopback,
// valid literals only, each once. dockerd binds these exactly, so the guest
// must own them, though they are addresses of the host (a LAN address, say).
std::vector<std::string> SpecificHostIps(const nlohmann::json& create_body);

// Makes the host IPs containers publish on local to the guest, and keeps
// them so across reboots: a container with a restart policy is started by
// dockerd at boot, before anyone asks again. The record is one address per
// line. Inside the guest these addresses then lead to the guest itself,
// which is where their published ports are.
class PublishedAddresses {
 public:
  // Makes one address local (default: a host address on "lo", when the
  // guest does not already have it).
  using Owner = std::function<absl::Status(const std::string& ip)>;

  // Reads the record at `record_path`, if there is one.
  explicit PublishedAddresses(std::string record_path, Owner owner = DefaultOwner());

  // Owns each address and records it. The first failure is returned, after
  // the others have been tried.
  absl::Status Ensure(const std::vector<std::string>& ips);
  // Owns every recorded address again: at boot, before dockerd starts.
  absl::Status Restore();

  std::set<std::string> Recorded();

  static Owner DefaultOwner();

 private:
  absl::Status Save() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string record_path_;
  const Owner owner_;
  absl::Mutex mu_;
  std::set<std::string> recorded_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchyard::agent
