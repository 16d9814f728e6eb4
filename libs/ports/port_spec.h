#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/ports/port_binding.h"
#include "libs/ports/port_table.h"

namespace switchyard::ports {

// Parses "80/tcp", "53/udp" or "80" (tcp) as Docker keys container ports.
absl::StatusOr<std::pair<int, std::string>> ParsePortKey(const std::string& key);

// The host bindings a container asks for, from its HostConfig.PortBindings.
// A host port left empty (or a range such as "8000-8010") gives host_port 0.
std::vector<PortBinding> RequestedBindings(const nlohmann::json& host_config);

// Gives every binding of a create body a concrete host port before the guest
// sees it, so that one allocator serves both VMs: empty host ports, ranges,
// and with PublishAllPorts (-P) every exposed port of the body and of the
// image (`image_exposed`, its Config.ExposedPorts). `choose` answers a free
// port for a binding, within [first, last] of a range when one was given.
// Malformed entries are left for dockerd to reject with its own words.
using PortChooser = std::function<absl::StatusOr<int>(const PortBinding& binding, int first, int last)>;
absl::Status AssignHostPorts(nlohmann::json& spec, const nlohmann::json& image_exposed, const PortChooser& choose);

// What running containers publish, from /containers/json rows' Ports.
std::vector<Claim> PublishedPorts(const std::string& backend, const nlohmann::json& rows);

}  // namespace switchyard::ports
